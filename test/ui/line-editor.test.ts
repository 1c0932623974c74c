// Table test of editLine: typing, pasting, Backspace/Delete, Ctrl+U, Enter, ignored keys.
import { describe, expect, it } from "vitest";
import { editLine, insertPasted, type LineEdit, type LineKey } from "../../src/ui/line-editor.ts";

const none: LineKey = { return: false, backspace: false, delete: false, ctrl: false, meta: false };
const key = (over: Partial<LineKey>): LineKey => ({ ...none, ...over });

const cases: [string, string, string, LineKey, LineEdit][] = [
  ["appends a character", "ab", "c", none, { line: "abc" }],
  ["appends pasted Chinese", "问", "题是什么", none, { line: "问题是什么" }],
  ["Enter submits the line", "hi", "\r", key({ return: true }), { line: "", submitted: "hi" }],
  ["Enter on an empty line submits empty", "", "\r", key({ return: true }), { line: "", submitted: "" }],
  ["Backspace drops the last character", "abc", "", key({ backspace: true }), { line: "ab" }],
  ["Delete (DEL byte) drops the last character", "abc", "", key({ delete: true }), { line: "ab" }],
  ["Backspace drops a whole emoji", "a👋", "", key({ backspace: true }), { line: "a" }],
  ["Backspace on empty stays empty", "", "", key({ backspace: true }), { line: "" }],
  ["Ctrl+U clears", "abc", "u", key({ ctrl: true }), { line: "" }],
  ["other Ctrl keys do nothing", "abc", "a", key({ ctrl: true }), { line: "abc" }],
  ["meta keys do nothing", "abc", "b", key({ meta: true }), { line: "abc" }],
  ["arrows and Tab (empty input) do nothing", "abc", "", none, { line: "abc" }],
  ["a chunk ending in one line break submits", "say ", "hello\r", none, { line: "", submitted: "say hello" }],
  ["a multi-line paste keeps its line breaks", "", "a\r\nb\nc", none, { line: "a\nb\nc" }],
  ["tabs and spaces are kept", "", "a\t b  c", none, { line: "a\t b  c" }],
  ["control characters are dropped", "", "a\u0007b\u001bc", none, { line: "abc" }],
  ["Ctrl+J (a lone line feed) inserts a line break", "a", "\n", none, { line: "a\n" }],
  ["Alt+Enter inserts a line break", "a", "\r", key({ return: true, meta: true }), { line: "a\n" }],
  ["Shift+Enter (kitty keyboard) inserts a line break", "a", "\r", key({ return: true, shift: true }), { line: "a\n" }],
  ["Shift+Enter (xterm modifyOtherKeys) inserts a line break", "a", "[27;2;13~", none, { line: "a\n" }],
  ["Enter submits a multi-line question", "a\nb", "\r", key({ return: true }), { line: "", submitted: "a\nb" }],
];

describe("editLine", () => {
  it.each(cases)("%s", (_name, line, input, k, expected) => {
    expect(editLine(line, input, k)).toEqual(expected);
  });
});

describe("insertPasted", () => {
  it("keeps every line break of a bracketed paste, trailing ones included", () => {
    expect(insertPasted("x ", "a\r\nb\rc\r")).toBe("x a\nb\nc\n");
  });
});
