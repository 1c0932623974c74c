// Pure editing of the prompt: what one keypress (or one pasted chunk) does to the (multi-line) text and its cursor.
import {
  lineEnd,
  lineStart,
  nextGrapheme,
  nextWordEnd,
  previousGrapheme,
  previousSpaceBoundary,
  previousWordStart,
} from "./text-motion.ts";

/** The prompt's text and where the cursor is in it (a UTF-16 offset on a character boundary). */
export interface PromptText {
  text: string;
  cursor: number;
}

export const EMPTY_PROMPT: PromptText = { text: "", cursor: 0 };

/**
 * The parts of Ink's Key that line editing looks at. `backspace` removes the character before the
 * cursor, `delete` the one under it (the caller sorts Ink's "delete", which the Backspace key's DEL
 * byte also produces, into one of these).
 */
export interface LineKey {
  return: boolean;
  backspace: boolean;
  delete: boolean;
  ctrl: boolean;
  meta: boolean;
  shift?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  home?: boolean;
  end?: boolean;
}

export interface LineEdit {
  prompt: PromptText;
  /** Set when the keypress submits: the submitted text (the prompt is then empty). */
  submitted?: string;
}

// C0 controls and DEL, except the tab and newline a pasted question may hold.
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Shift+Enter as xterm's modifyOtherKeys sends it (Ink passes it on without the ESC). */
const XTERM_SHIFT_ENTER = "[27;2;13~";

function clean(input: string): string {
  return input.replace(/\r\n?/g, "\n").replace(CONTROL_CHARS, "");
}

function insert({ text, cursor }: PromptText, inserted: string): PromptText {
  return { text: text.slice(0, cursor) + inserted + text.slice(cursor), cursor: cursor + inserted.length };
}

function moveTo(prompt: PromptText, cursor: number): PromptText {
  return cursor === prompt.cursor ? prompt : { text: prompt.text, cursor };
}

/** Removes text[from, to) and leaves the cursor at `from`. */
function remove(prompt: PromptText, from: number, to: number): PromptText {
  if (from >= to) return prompt;
  return { text: prompt.text.slice(0, from) + prompt.text.slice(to), cursor: from };
}

/**
 * Typed or pasted text (outside bracketed paste), inserted at the cursor: line breaks become "\n".
 * One chunk that ends in its only line break, a CR ("hello\r": fast typing and Enter, as tmux and
 * some terminals send it), submits; a chunk with more lines is a paste and keeps them.
 */
function insertText(prompt: PromptText, input: string): LineEdit {
  const text = clean(input);
  const breaks = text.split("\n").length - 1;
  if (breaks === 1 && input.endsWith("\r")) {
    const { text: full } = insert(prompt, text.slice(0, -1));
    return { prompt: EMPTY_PROMPT, submitted: full };
  }
  return { prompt: insert(prompt, text) };
}

/** Text between bracketed-paste markers: inserted at the cursor as it is, line breaks included; never submits. */
export function insertPasted(prompt: PromptText, input: string): PromptText {
  return insert(prompt, clean(input));
}

/** Whether the keypress asks for a new line instead of sending: Ctrl+J, Alt+Enter, Shift+Enter. */
export function isNewlineKey(input: string, key: LineKey): boolean {
  if (key.return) return key.meta || key.shift === true;
  return input === "\n" || input === XTERM_SHIFT_ENTER;
}

/** Ctrl+U: removes from the start of the cursor's line to the cursor; at a line's start, joins it to the line above. */
function killBefore(prompt: PromptText): PromptText {
  const start = lineStart(prompt.text, prompt.cursor);
  return remove(prompt, start === prompt.cursor ? Math.max(0, start - 1) : start, prompt.cursor);
}

/** Ctrl+K: removes from the cursor to the end of its line; at a line's end, joins the next line to it. */
function killAfter(prompt: PromptText): PromptText {
  const end = lineEnd(prompt.text, prompt.cursor);
  return remove(prompt, prompt.cursor, end === prompt.cursor ? Math.min(prompt.text.length, end + 1) : end);
}

/** Ctrl and Alt letter keys (emacs / readline); others change nothing. */
function editWithModifier(prompt: PromptText, input: string, key: LineKey): PromptText {
  const { text, cursor } = prompt;
  if (key.ctrl) {
    switch (input) {
      case "a":
        return moveTo(prompt, lineStart(text, cursor));
      case "e":
        return moveTo(prompt, lineEnd(text, cursor));
      case "b":
        return moveTo(prompt, previousGrapheme(text, cursor));
      case "f":
        return moveTo(prompt, nextGrapheme(text, cursor));
      case "d":
        return remove(prompt, cursor, nextGrapheme(text, cursor));
      case "u":
        return killBefore(prompt);
      case "k":
        return killAfter(prompt);
      case "w":
        return remove(prompt, previousSpaceBoundary(text, cursor), cursor);
      default:
        return prompt;
    }
  }
  switch (input) {
    case "b":
      return moveTo(prompt, previousWordStart(text, cursor));
    case "f":
      return moveTo(prompt, nextWordEnd(text, cursor));
    case "d":
      return remove(prompt, cursor, nextWordEnd(text, cursor));
    default:
      return prompt;
  }
}

/**
 * Enter submits; Ctrl+J / Alt+Enter / Shift+Enter insert a line break; ←/→ (with Alt or Ctrl: by word),
 * Home/End and Ctrl+A/E move; Backspace/Delete (with Alt or Ctrl: a word) remove at the cursor;
 * Ctrl+U/K/W kill; printable text is inserted at the cursor. ↑/↓ and Tab are the caller's.
 */
export function editLine(prompt: PromptText, input: string, key: LineKey): LineEdit {
  const { text, cursor } = prompt;
  const byWord = key.ctrl || key.meta;
  if (isNewlineKey(input, key)) return { prompt: insert(prompt, "\n") };
  if (key.return) return { prompt: EMPTY_PROMPT, submitted: text };
  if (key.leftArrow) return { prompt: moveTo(prompt, byWord ? previousWordStart(text, cursor) : previousGrapheme(text, cursor)) };
  if (key.rightArrow) return { prompt: moveTo(prompt, byWord ? nextWordEnd(text, cursor) : nextGrapheme(text, cursor)) };
  if (key.home) return { prompt: moveTo(prompt, lineStart(text, cursor)) };
  if (key.end) return { prompt: moveTo(prompt, lineEnd(text, cursor)) };
  if (key.backspace) return { prompt: remove(prompt, byWord ? previousWordStart(text, cursor) : previousGrapheme(text, cursor), cursor) };
  if (key.delete) return { prompt: remove(prompt, cursor, byWord ? nextWordEnd(text, cursor) : nextGrapheme(text, cursor)) };
  if (key.ctrl || key.meta) return { prompt: editWithModifier(prompt, input, key) };
  if (input === "") return { prompt };
  return insertText(prompt, input);
}
