// findAnswerCut: where a long streaming answer may be cut (blank lines, never inside a fence or a table).
import { describe, expect, it } from "vitest";
import { estimateRows, findAnswerCut, markdownBlocks } from "../../src/ui/answer-split.ts";

describe("estimateRows", () => {
  it("counts wide CJK and emoji as two columns", () => {
    expect(estimateRows("中".repeat(10), 20)).toBe(1);
    expect(estimateRows("中".repeat(11), 20)).toBe(2);
    expect(estimateRows("👋".repeat(11), 20)).toBe(2);
    expect(estimateRows("a\n\nb", 20)).toBe(3);
  });
});

describe("findAnswerCut", () => {
  it("does not cut what fits", () => {
    expect(findAnswerCut("a\n\nb\n\nc", 10, 80)).toBeUndefined();
  });

  it("cuts after the last blank line, never at the growing last line", () => {
    expect(findAnswerCut("a\n\nb\n\nc\nd", 3, 80)).toEqual({ at: 6, close: "", reopen: "" });
    // Before the blank line is followed by anything, it is no place to cut yet.
    expect(findAnswerCut("a\nb\nc\nd\n\n", 3, 80)).toEqual({ at: 6, close: "", reopen: "" });
  });

  it("does not cut at a blank line inside a code fence", () => {
    const live = "intro\n```js\nx\n\ny\n```\ntail";
    // The last safe place is after the closing fence line.
    expect(findAnswerCut(live, 2, 80)).toEqual({ at: live.indexOf("tail"), close: "", reopen: "" });
    // While the fence is open, a cut inside it closes it and reopens it with its language.
    expect(findAnswerCut("```js\nx\n\ny\nz", 2, 80)).toEqual({ at: 11, close: "```\n", reopen: "```js\n" });
  });

  it("never cuts before a numbered item (it would be renumbered from 1) or an indented line", () => {
    expect(findAnswerCut("1. a\n\n2. b\n\n3. c\n  more\nx", 2, 80)).toEqual({ at: 24, close: "", reopen: "" });
    expect(findAnswerCut("1. a\n2. b\n\n   c\n   d", 2, 80)).toBeUndefined();
  });

  it("keeps a table's rows together", () => {
    const live = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |";
    expect(findAnswerCut(live, 2, 80)).toBeUndefined();
  });

  it("has no place in one long line", () => {
    expect(findAnswerCut("x".repeat(500), 2, 40)).toBeUndefined();
  });
});

describe("markdownBlocks", () => {
  it("splits at blank lines outside fences, keeping numbered lists whole", () => {
    expect(markdownBlocks("p1\n\np2\n\n```\nx\n\ny\n```\n\n1. a\n\n2. b")).toEqual(["p1\n\n", "p2\n\n", "```\nx\n\ny\n```\n\n1. a\n\n2. b"]);
    expect(markdownBlocks("").join("")).toBe("");
  });
});
