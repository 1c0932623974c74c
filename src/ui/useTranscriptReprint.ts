// After the terminal gets narrower, clears it and has the transcript printed again at the new width.
import { useEffect, useRef, useState } from "react";
import { useStdout } from "ink";

/**
 * Erase the screen and the scrollback, then home the cursor. Only the screen would leave the old
 * copy of the transcript in the scrollback (tmux and others move a cleared screen there).
 */
const CLEAR_TERMINAL = "\u001b[2J\u001b[3J\u001b[H";
/** Waits for a drag-resize to settle, so the transcript is printed once, not once per step. */
const SETTLE_MS = 150;

/**
 * When a terminal narrows it re-wraps what it shows, and Ink, which erases the live region by its
 * old line count, leaves rows of it behind (a stray prompt line). So once the width has gone down
 * and settled, the terminal is cleared and the returned key changes: keyed on it, <Static> prints
 * the whole transcript again, wrapped (and its tables sized) for the new width. Widening needs
 * nothing. Only for a real terminal.
 */
export function useTranscriptReprint(columns: number): number {
  const { stdout, write } = useStdout();
  const [generation, setGeneration] = useState(0);
  const previousRef = useRef(columns);
  const pendingRef = useRef(false);
  useEffect(() => {
    if (columns < previousRef.current && stdout.isTTY) pendingRef.current = true;
    previousRef.current = columns;
    if (!pendingRef.current) return;
    const timer = setTimeout(() => {
      pendingRef.current = false;
      write(CLEAR_TERMINAL);
      setGeneration((n) => n + 1);
    }, SETTLE_MS);
    return () => clearTimeout(timer);
  }, [columns, stdout, write]);
  return generation;
}
