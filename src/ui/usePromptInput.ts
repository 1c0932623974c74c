// Keyboard handling for the prompt line and the global keys (Ctrl+C stop/clear/exit, Ctrl+D exit).
import { useCallback, useLayoutEffect, useRef, useState } from "react";
import { useInput, type Key } from "ink";
import { editLine } from "./line-editor.ts";

export interface PromptInputOptions {
  /** While an answer streams, only Ctrl+C is handled (it stops the answer). */
  busy: boolean;
  onSubmit(text: string): void;
  onStop(): void;
  onExit(): void;
}

/**
 * Returns the current line. The input stays active while busy so Ctrl+C reaches us; this needs
 * Ink rendered with `exitOnCtrlC: false`, or Ink exits on Ctrl+C itself.
 */
export function usePromptInput(options: PromptInputOptions): string {
  const [line, setLineState] = useState("");
  // Keys can arrive faster than React re-renders, so the handler reads refs, not render-time values.
  const lineRef = useRef("");
  const optionsRef = useRef(options);
  useLayoutEffect(() => {
    optionsRef.current = options;
  });

  const setLine = useCallback((next: string) => {
    lineRef.current = next;
    setLineState(next);
  }, []);

  const handleInput = useCallback(
    (input: string, key: Key) => {
      const { busy, onSubmit, onStop, onExit } = optionsRef.current;
      const current = lineRef.current;
      if (key.ctrl && input === "c") {
        if (busy) onStop();
        else if (current !== "") setLine("");
        else onExit();
        return;
      }
      if (busy) return;
      if (key.ctrl && input === "d") {
        if (current === "") onExit();
        return;
      }
      const edit = editLine(current, input, key);
      if (edit.line !== current) setLine(edit.line);
      if (edit.submitted !== undefined) onSubmit(edit.submitted);
    },
    [setLine],
  );

  useInput(handleInput);
  return line;
}
