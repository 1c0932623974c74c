// Table tests of editLine: typing and pasting at the cursor, moving, deleting, killing, Enter, ignored keys.
// Prompts are written with "|" where the cursor is: "ab|c" is the text "abc" with the cursor before "c".
import { describe, expect, it } from "vitest";
import { editLine, insertPasted, type LineKey, type PromptText } from "../../src/ui/line-editor.ts";

const none: LineKey = { return: false, backspace: false, delete: false, ctrl: false, meta: false };
const key = (over: Partial<LineKey>): LineKey => ({ ...none, ...over });

function p(marked: string): PromptText {
  const cursor = marked.indexOf("|");
  if (cursor === -1) throw new Error(`no cursor in ${marked}`);
  return { text: marked.slice(0, cursor) + marked.slice(cursor + 1), cursor };
}
const show = ({ text, cursor }: PromptText) => `${text.slice(0, cursor)}|${text.slice(cursor)}`;

const typing: [string, string, string, LineKey, string][] = [
  ["appends a character", "ab|", "c", none, "abc|"],
  ["inserts at the cursor", "a|c", "b", none, "ab|c"],
  ["appends pasted Chinese", "问|", "题是什么", none, "问题是什么|"],
  ["a multi-line paste keeps its line breaks", "|", "a\r\nb\nc", none, "a\nb\nc|"],
  ["a multi-line paste goes in at the cursor", "x|y", "a\rb\r", none, "xa\nb\n|y"],
  ["tabs and spaces are kept", "|", "a\t b  c", none, "a\t b  c|"],
  ["control characters are dropped", "|", "a\u0007b\u001bc", none, "abc|"],
  ["Ctrl+J (a lone line feed) inserts a line break", "a|b", "\n", none, "a\n|b"],
  ["a chunk ending in \\n (Ctrl+J typed fast) only inserts", "|", "a\n", none, "a\n|"],
  ["Alt+Enter inserts a line break", "a|", "\r", key({ return: true, meta: true }), "a\n|"],
  ["Shift+Enter (kitty keyboard) inserts a line break", "a|", "\r", key({ return: true, shift: true }), "a\n|"],
  ["Shift+Enter (xterm modifyOtherKeys) inserts a line break", "a|", "[27;2;13~", none, "a\n|"],
  ["other Ctrl keys do nothing", "ab|c", "t", key({ ctrl: true }), "ab|c"],
  ["other meta keys do nothing", "ab|c", "x", key({ meta: true }), "ab|c"],
  ["keys without text (Tab, PageUp, Esc) do nothing", "ab|c", "", none, "ab|c"],
];

const moving: [string, string, LineKey, string, string?][] = [
  ["← moves one character", "abc|", key({ leftArrow: true }), "ab|c"],
  ["← stops at the start", "|abc", key({ leftArrow: true }), "|abc"],
  ["→ moves one character", "a|bc", key({ rightArrow: true }), "ab|c"],
  ["→ stops at the end", "abc|", key({ rightArrow: true }), "abc|"],
  ["← steps over a whole emoji with its skin tone", "a👋🏽|", key({ leftArrow: true }), "a|👋🏽"],
  ["→ steps over a letter and its combining accent", "|e\u0301x", key({ rightArrow: true }), "e\u0301|x"],
  ["← crosses a line break", "a\n|b", key({ leftArrow: true }), "a|\nb"],
  ["Alt+← goes to the start of the word", "one two|", key({ leftArrow: true, meta: true }), "one |two"],
  ["Alt+← from a word's start goes to the previous word", "one |two", key({ leftArrow: true, meta: true }), "|one two"],
  ["Ctrl+← skips punctuation and spaces", "foo(bar, |baz)", key({ leftArrow: true, ctrl: true }), "foo(|bar, baz)"],
  ["Alt+→ goes to the end of the word", "|one two", key({ rightArrow: true, meta: true }), "one| two"],
  ["Ctrl+→ from a word's end goes to the next word's end", "one| two", key({ rightArrow: true, ctrl: true }), "one two|"],
  ["Alt+→ with no word left goes to the end", "one|  ", key({ rightArrow: true, meta: true }), "one  |"],
  ["Alt+← steps over Chinese words", "分布式训练|", key({ leftArrow: true, meta: true }), "分布式|训练"],
  ["Alt+b is Alt+←", "one two|", key({ meta: true }), "one |two", "b"],
  ["Alt+f is Alt+→", "|one two", key({ meta: true }), "one| two", "f"],
  ["Home goes to the start of the line", "a\nbc|d", key({ home: true }), "a\n|bcd"],
  ["End goes to the end of the line", "a|b\ncd", key({ end: true }), "ab|\ncd"],
  ["Ctrl+A goes to the start of the line", "ab|c", key({ ctrl: true }), "|abc", "a"],
  ["Ctrl+E goes to the end of the line", "a|bc\nd", key({ ctrl: true }), "abc|\nd", "e"],
  ["Ctrl+B and Ctrl+F move one character", "ab|c", key({ ctrl: true }), "a|bc", "b"],
];

const deleting: [string, string, LineKey, string, string?][] = [
  ["Backspace removes the character before the cursor", "ab|c", key({ backspace: true }), "a|c"],
  ["Backspace at the start does nothing", "|abc", key({ backspace: true }), "|abc"],
  ["Backspace on empty stays empty", "|", key({ backspace: true }), "|"],
  ["Backspace removes a whole emoji", "a👋|", key({ backspace: true }), "a|"],
  ["Backspace at a line's start joins it to the line above", "a\n|b", key({ backspace: true }), "a|b"],
  ["Delete removes the character under the cursor", "a|bc", key({ delete: true }), "a|c"],
  ["Delete at the end does nothing", "abc|", key({ delete: true }), "abc|"],
  ["Ctrl+D removes the character under the cursor", "a|bc", key({ ctrl: true }), "a|c", "d"],
  ["Alt+Backspace removes the word before the cursor", "one two|", key({ backspace: true, meta: true }), "one |"],
  ["Alt+d removes to the end of the word", "one |two three", key({ meta: true }), "one | three", "d"],
  ["Ctrl+U removes from the line's start to the cursor", "ab|c", key({ ctrl: true }), "|c", "u"],
  ["Ctrl+U clears a one-line prompt with the cursor at the end", "abc|", key({ ctrl: true }), "|", "u"],
  ["Ctrl+U keeps the lines above", "a\nbc|", key({ ctrl: true }), "a\n|", "u"],
  ["Ctrl+U at a line's start joins it to the line above", "a\n|bc", key({ ctrl: true }), "a|bc", "u"],
  ["Ctrl+K removes from the cursor to the line's end", "a|bc\nd", key({ ctrl: true }), "a|\nd", "k"],
  ["Ctrl+K at a line's end joins the next line", "a|\nd", key({ ctrl: true }), "a|d", "k"],
  ["Ctrl+K at the very end does nothing", "ab|", key({ ctrl: true }), "ab|", "k"],
  ["Ctrl+W removes back to the previous space", "git commit -m|", key({ ctrl: true }), "git commit |", "w"],
  ["Ctrl+W removes spaces, then the word before them", "say foo.bar  |x", key({ ctrl: true }), "say |x", "w"],
  ["Ctrl+W at the start does nothing", "|ab", key({ ctrl: true }), "|ab", "w"],
];

describe("editLine", () => {
  it.each(typing)("%s", (_name, before, input, k, after) => {
    const edit = editLine(p(before), input, k);
    expect(edit.submitted).toBeUndefined();
    expect(show(edit.prompt)).toBe(after);
  });

  it.each([...moving, ...deleting])("%s", (_name, before, k, after, input = "") => {
    const edit = editLine(p(before), input, k);
    expect(edit.submitted).toBeUndefined();
    expect(show(edit.prompt)).toBe(after);
  });

  it("Enter submits the whole text wherever the cursor is, and empties the prompt", () => {
    const enter = key({ return: true });
    expect(editLine(p("h|i"), "\r", enter)).toEqual({ prompt: { text: "", cursor: 0 }, submitted: "hi" });
    expect(editLine(p("|"), "\r", enter)).toEqual({ prompt: { text: "", cursor: 0 }, submitted: "" });
    expect(editLine(p("a|\nb"), "\r", enter).submitted).toBe("a\nb");
  });

  it("a chunk ending in its only line break, a CR (fast typing + Enter), submits", () => {
    expect(editLine(p("say |"), "hello\r", none)).toEqual({ prompt: { text: "", cursor: 0 }, submitted: "say hello" });
    expect(editLine(p("say | now"), "hello\r", none).submitted).toBe("say hello now");
    expect(editLine(p("|"), "你好\r", none).submitted).toBe("你好");
  });

  it("a chunk with more than one line break is a paste, even when it ends in a CR", () => {
    for (const chunk of ["a\rb\r", "a\r\nb\r", "a\nb\r"]) {
      const edit = editLine(p("|"), chunk, none);
      expect(edit.submitted).toBeUndefined();
      expect(edit.prompt.text.split("\n")).toHaveLength(3);
    }
  });

  it("hands back the same prompt object when a key changes nothing (so nothing re-renders)", () => {
    for (const [before, input, k] of [["|abc", "", key({ leftArrow: true })], ["ab|c", "t", key({ ctrl: true })], ["abc|", "", key({ delete: true })]] as const) {
      const prompt = p(before);
      expect(editLine(prompt, input, k).prompt).toBe(prompt);
    }
  });
});

describe("insertPasted", () => {
  it("keeps every line break of a bracketed paste, trailing ones included, at the cursor", () => {
    expect(show(insertPasted(p("x |y"), "a\r\nb\rc\r"))).toBe("x a\nb\nc\n|y");
  });
});
