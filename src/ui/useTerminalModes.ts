// Terminal modes the prompt relies on: bracketed paste (pasted line breaks stay in the question) while mounted.
import { useCallback, useEffect } from "react";
import { useStdout } from "ink";

const PASTE_ON = "\u001b[?2004h";
const PASTE_OFF = "\u001b[?2004l";
/** Erase the screen and home the cursor; the scrollback (and the conversation) stay. */
const CLEAR_SCREEN = "\u001b[2J\u001b[H";

/** Turns bracketed paste on for a real terminal; returns Ctrl+L's "clear the screen". */
export function useTerminalModes(): () => void {
  const { stdout, write } = useStdout();
  useEffect(() => {
    if (!stdout.isTTY) return;
    stdout.write(PASTE_ON);
    return () => {
      stdout.write(PASTE_OFF);
    };
  }, [stdout]);
  // Ink's write() clears its live region, writes, then draws the live region again: at the top.
  return useCallback(() => write(CLEAR_SCREEN), [write]);
}
