// Keyboard handling for the prompt and the global keys (Ctrl+C stop/clear/exit, Ctrl+D exit, Ctrl+L, ↑/↓).
import { useCallback, useLayoutEffect, useRef, useState } from "react";
import { useInput, type Key } from "ink";
import { historyCursor, moveHistory, recordHistory, type InputHistoryStore } from "./input-history.ts";
import { editLine, insertPasted } from "./line-editor.ts";

/** Bracketed paste markers as Ink hands them over (without the ESC). */
const PASTE_START = "[200~";
const PASTE_END = "[201~";

export interface PromptInputOptions {
  /** While an answer streams, only Ctrl+C and Ctrl+L are handled. */
  busy: boolean;
  onSubmit(text: string): void;
  onStop(): void;
  onExit(): void;
  /** Ctrl+L: clear the screen (the conversation stays). */
  onClearScreen?(): void;
  /** Tab: the completed line for `line`, if there is one. */
  complete?(line: string): string | undefined;
  /** Where ↑/↓ history comes from and goes; read once. */
  history: InputHistoryStore;
}

/**
 * Returns the current text (it may hold line breaks). The input stays active while busy so Ctrl+C
 * reaches us; this needs Ink rendered with `exitOnCtrlC: false`, or Ink exits on Ctrl+C itself.
 */
export function usePromptInput(options: PromptInputOptions): string {
  const [line, setLineState] = useState("");
  // Keys can arrive faster than React re-renders, so the handler reads refs, not render-time values.
  const lineRef = useRef("");
  const pastingRef = useRef(false);
  const optionsRef = useRef(options);
  const cursorRef = useRef<ReturnType<typeof historyCursor> | undefined>(undefined);
  cursorRef.current ??= historyCursor(safeLoad(options.history));
  useLayoutEffect(() => {
    optionsRef.current = options;
  });

  const setLine = useCallback((next: string) => {
    lineRef.current = next;
    setLineState(next);
  }, []);

  const submit = useCallback((text: string) => {
    const { history, onSubmit } = optionsRef.current;
    if (text.trim() !== "") {
      cursorRef.current = recordHistory(cursorRef.current!, text);
      try {
        history.append(text);
      } catch {
        // history is a convenience: a read-only state dir must not stop the chat
      }
    }
    onSubmit(text);
  }, []);

  const handleInput = useCallback(
    (input: string, key: Key) => {
      const { busy, onStop, onExit, onClearScreen, complete } = optionsRef.current;
      const current = lineRef.current;
      if (input === PASTE_START || input === PASTE_END) {
        pastingRef.current = input === PASTE_START;
        return;
      }
      if (key.ctrl && input === "c") {
        if (busy) onStop();
        else if (current !== "") setLine("");
        else onExit();
        return;
      }
      if (key.ctrl && input === "l") return onClearScreen?.();
      if (busy) return;
      if (pastingRef.current) return setLine(insertPasted(current, input));
      if (key.ctrl && input === "d") {
        if (current === "") onExit();
        return;
      }
      if (key.upArrow || key.downArrow) {
        const moved = moveHistory(cursorRef.current!, key.upArrow ? -1 : 1, current);
        cursorRef.current = moved.cursor;
        if (moved.line !== current) setLine(moved.line);
        return;
      }
      if (key.tab) {
        const completed = complete?.(current);
        if (completed !== undefined && completed !== current) setLine(completed);
        return;
      }
      const edit = editLine(current, input, key);
      if (edit.line !== current) setLine(edit.line);
      if (edit.submitted !== undefined) submit(edit.submitted);
    },
    [setLine, submit],
  );

  useInput(handleInput);
  return line;
}

function safeLoad(history: InputHistoryStore): string[] {
  try {
    return history.load();
  } catch {
    return [];
  }
}
