// Pure editing of the one-line prompt: what one keypress (or one pasted chunk) does to the line.

/** The parts of Ink's Key that line editing looks at. */
export interface LineKey {
  return: boolean;
  backspace: boolean;
  delete: boolean;
  ctrl: boolean;
  meta: boolean;
}

export interface LineEdit {
  line: string;
  /** Set when the keypress submits: the submitted text (the line is then empty). */
  submitted?: string;
}

// C0 controls and DEL, except the tab and newline a pasted question may hold.
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

function dropLastCharacter(line: string): string {
  return Array.from(line).slice(0, -1).join("");
}

/** Typed or pasted text: line breaks become "\n"; one trailing break (fast typing + Enter) submits. */
function insertText(line: string, input: string): LineEdit {
  const text = input.replace(/\r\n?/g, "\n").replace(CONTROL_CHARS, "");
  const breaks = text.split("\n").length - 1;
  if (breaks === 1 && text.endsWith("\n")) return { line: "", submitted: line + text.slice(0, -1) };
  return { line: line + text };
}

/**
 * Enter submits, Backspace/Delete remove the last character, Ctrl+U clears the line, printable
 * text is appended. Other control and meta keys (arrows, Tab, Esc, Ctrl+letters) change nothing.
 */
export function editLine(line: string, input: string, key: LineKey): LineEdit {
  if (key.return) return { line: "", submitted: line };
  if (key.backspace || key.delete) return { line: dropLastCharacter(line) };
  if (key.ctrl) return input === "u" ? { line: "" } : { line };
  if (key.meta || input === "") return { line };
  return insertText(line, input);
}
