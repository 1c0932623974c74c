// Splitting a chunk of several keys, and telling the Delete key from Backspace's DEL byte.
import { describe, expect, it } from "vitest";
import { holdsControlKeys, isForwardDelete, splitControlKeys } from "../../src/ui/key-chunks.ts";

describe("splitControlKeys", () => {
  it("splits text and control keys in order, as Ink hands single keys over", () => {
    const keys = splitControlKeys("ab\u0005\u0017c d\u007f\b");
    expect(keys.map(([input, key]) => [input, key.ctrl, key.delete, key.backspace])).toEqual([
      ["ab", false, false, false],
      ["e", true, false, false],
      ["w", true, false, false],
      ["c d", false, false, false],
      ["", false, true, false],
      ["", false, false, true],
    ]);
  });

  it("keeps tabs, line feeds and CRs in the text (a chunk ending in CR still submits)", () => {
    expect(splitControlKeys("\u0015x\ty\r").map(([input]) => input)).toEqual(["u", "x\ty\r"]);
  });
});

describe("holdsControlKeys", () => {
  it("is true only for a chunk of more than one character with a control key in it", () => {
    expect(holdsControlKeys("a\u0001")).toBe(true);
    expect(holdsControlKeys("\u0001")).toBe(false);
    expect(holdsControlKeys("a\nb\r\t")).toBe(false);
  });
});

describe("isForwardDelete", () => {
  it("is the Delete key's CSI 3 ~ (with modifiers or Alt), not the DEL byte", () => {
    expect(isForwardDelete("\u001b[3~")).toBe(true);
    expect(isForwardDelete("\u001b[3;5~")).toBe(true);
    expect(isForwardDelete("\u001b\u001b[3~")).toBe(true);
    expect(isForwardDelete("\u007f")).toBe(false);
    expect(isForwardDelete("\u001b\u007f")).toBe(false);
  });
});
