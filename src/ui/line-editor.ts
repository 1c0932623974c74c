// Pure editing of the prompt: what one keypress (or one pasted chunk) does to the (multi-line) text.

/** The parts of Ink's Key that line editing looks at. */
export interface LineKey {
  return: boolean;
  backspace: boolean;
  delete: boolean;
  ctrl: boolean;
  meta: boolean;
  shift?: boolean;
}

export interface LineEdit {
  line: string;
  /** Set when the keypress submits: the submitted text (the line is then empty). */
  submitted?: string;
}

// C0 controls and DEL, except the tab and newline a pasted question may hold.
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Shift+Enter as xterm's modifyOtherKeys sends it (Ink passes it on without the ESC). */
const XTERM_SHIFT_ENTER = "[27;2;13~";

function dropLastCharacter(line: string): string {
  return Array.from(line).slice(0, -1).join("");
}

function clean(input: string): string {
  return input.replace(/\r\n?/g, "\n").replace(CONTROL_CHARS, "");
}

/** Typed or pasted text: line breaks become "\n"; one trailing Enter (fast typing + Enter) submits. */
function insertText(line: string, input: string): LineEdit {
  const text = clean(input);
  const breaks = text.split("\n").length - 1;
  if (breaks === 1 && input.endsWith("\r")) return { line: "", submitted: line + text.slice(0, -1) };
  return { line: line + text };
}

/** Text between bracketed-paste markers: kept as it is, line breaks included; never submits. */
export function insertPasted(line: string, input: string): string {
  return line + clean(input);
}

/** Whether the keypress asks for a new line instead of sending: Ctrl+J, Alt+Enter, Shift+Enter. */
export function isNewlineKey(input: string, key: LineKey): boolean {
  if (key.return) return key.meta || key.shift === true;
  return input === "\n" || input === XTERM_SHIFT_ENTER;
}

/**
 * Enter submits, Ctrl+J / Alt+Enter / Shift+Enter insert a line break, Backspace/Delete remove the
 * last character, Ctrl+U clears, printable text is appended. Other control and meta keys change nothing.
 */
export function editLine(line: string, input: string, key: LineKey): LineEdit {
  if (isNewlineKey(input, key)) return { line: `${line}\n` };
  if (key.return) return { line: "", submitted: line };
  if (key.backspace || key.delete) return { line: dropLastCharacter(line) };
  if (key.ctrl) return input === "u" ? { line: "" } : { line };
  if (key.meta || input === "") return { line };
  return insertText(line, input);
}
