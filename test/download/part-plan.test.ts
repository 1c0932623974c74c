// Range arithmetic: the split, the hashing frontier, resumable-state validation and the slow-tail split.
import { describe, expect, it } from "vitest";
import { bytesDone, choosePartSize, contiguousFrontier, partsAreValid, planParts, splitLargestPart, type Part } from "../../src/download/part-plan.ts";

const MIB = 1024 * 1024;

describe("part plan", () => {
  it("tiles the file with equal parts and a short last one", () => {
    expect(planParts(10, 4)).toEqual([
      { start: 0, end: 4, done: 0 },
      { start: 4, end: 8, done: 0 },
      { start: 8, end: 10, done: 0 },
    ]);
    expect(planParts(0, 4)).toEqual([{ start: 0, end: 0, done: 0 }]);
  });

  it("sizes parts so the in-flight window stays a few percent of a big file", () => {
    expect(choosePartSize(100, 8)).toBe(2 * MIB);
    const ckpt = 13_415_858_176;
    const part = choosePartSize(ckpt, 16);
    expect((16 * part) / ckpt).toBeLessThan(0.04);
    expect(choosePartSize(1e15, 16)).toBe(64 * MIB);
  });

  it("finds the contiguous frontier across finished and unfinished parts", () => {
    const parts: Part[] = [
      { start: 0, end: 4, done: 4 },
      { start: 4, end: 8, done: 2 },
      { start: 8, end: 10, done: 2 },
    ];
    expect(contiguousFrontier(parts)).toBe(6);
    expect(bytesDone(parts)).toBe(8);
    parts[1]!.done = 4;
    expect(contiguousFrontier(parts)).toBe(10);
  });

  it("accepts only states that tile [0, size) with sane counters", () => {
    expect(partsAreValid(planParts(10, 4), 10)).toBe(true);
    expect(partsAreValid(planParts(10, 4), 11)).toBe(false);
    expect(partsAreValid([{ start: 0, end: 4, done: 5 }], 4)).toBe(false);
    expect(partsAreValid([{ start: 1, end: 4, done: 0 }], 4)).toBe(false);
    expect(partsAreValid([{ start: 0, end: 4, done: 0.5 }], 4)).toBe(false);
  });

  it("splits the busy part with the most bytes left, in place", () => {
    const parts = planParts(40, 20);
    parts[0]!.done = 10;
    parts[1]!.done = 2;
    const busy = new Set(parts);
    const tail = splitLargestPart(parts, busy, 4);
    expect(tail).toEqual({ start: 31, end: 40, done: 0 });
    expect(parts.map((p) => [p.start, p.end])).toEqual([[0, 20], [20, 31], [31, 40]]);
    expect(partsAreValid(parts, 40)).toBe(true);
    expect(splitLargestPart(parts, new Set(), 4)).toBeUndefined();
    expect(splitLargestPart(parts, busy, 100)).toBeUndefined();
  });
});
