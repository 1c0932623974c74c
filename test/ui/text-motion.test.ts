// Cursor boundaries: graphemes, words (Chinese included), lines, and ↑/↓ columns with double-width characters.
import { describe, expect, it } from "vitest";
import { nextGrapheme, previousGrapheme, previousSpaceBoundary, verticalTarget } from "../../src/ui/text-motion.ts";

describe("graphemes", () => {
  it("step over surrogate pairs, ZWJ emoji and combining marks as one character", () => {
    const family = "👨‍👩‍👧";
    expect(nextGrapheme(`${family}x`, 0)).toBe(family.length);
    expect(previousGrapheme(`x${family}`, 1 + family.length)).toBe(1);
    expect(nextGrapheme("e\u0301", 0)).toBe(2);
    expect(previousGrapheme("abc", 0)).toBe(0);
    expect(nextGrapheme("abc", 3)).toBe(3);
  });
});

describe("previousSpaceBoundary", () => {
  it("goes back over spaces and line breaks, then over the word", () => {
    expect(previousSpaceBoundary("a bc \n ", 7)).toBe(2);
    expect(previousSpaceBoundary("abc", 3)).toBe(0);
  });
});

describe("verticalTarget", () => {
  it("is undefined on the first line for ↑ and on the last line for ↓ (the history's turn)", () => {
    expect(verticalTarget("one line", 3, -1)).toBeUndefined();
    expect(verticalTarget("one line", 3, 1)).toBeUndefined();
    expect(verticalTarget("a\nb", 0, -1)).toBeUndefined();
    expect(verticalTarget("a\nb", 3, 1)).toBeUndefined();
  });

  it("keeps the column, or goes to the end of a shorter line", () => {
    const text = "abcd\nxy\nlonger";
    expect(verticalTarget(text, 3, 1)).toBe(7); // "abc|d" → "xy|"
    expect(verticalTarget(text, 6, 1)).toBe(9); // "x|y" → "l|onger"
    expect(verticalTarget(text, 13, -1)).toBe(7); // "longe|r" → "xy|"
    expect(verticalTarget(text, 6, -1)).toBe(1); // "x|y" → "a|bcd"
  });

  it("counts CJK characters as two columns", () => {
    const text = "你好世界\nabcd";
    expect(verticalTarget(text, 2, 1)).toBe(9); // after 你好 (4 columns) → after abcd
    expect(verticalTarget(text, 7, -1)).toBe(1); // after "ab" (2 columns) → after 你
    expect(verticalTarget(text, 8, -1)).toBe(1); // after "abc" (3 columns): 好 would pass it
  });
});
