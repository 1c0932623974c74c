// Keyboard handling for the prompt and the global keys (Ctrl+C stop/clear/exit, Ctrl+D exit, Ctrl+L, ↑/↓).
import { useCallback, useLayoutEffect, useRef, useState } from "react";
import { useInput, type Key } from "ink";
import type { InputHistoryStore } from "../chat/input-history-store.ts";
import { historyCursor, moveHistory, recordHistory } from "./input-history.ts";
import { holdsControlKeys, isForwardDelete, splitControlKeys } from "./key-chunks.ts";
import { EMPTY_PROMPT, editLine, insertPasted, type PromptText } from "./line-editor.ts";
import { verticalTarget } from "./text-motion.ts";
import { useRawKeySequence } from "./useRawKeySequence.ts";

/** Bracketed paste markers as Ink hands them over (without the ESC). */
const PASTE_START = "[200~";
const PASTE_END = "[201~";

export interface PromptInputOptions {
  /** While an answer streams, only Ctrl+C and Ctrl+L are handled. */
  busy: boolean;
  onSubmit(text: string): void;
  onStop(): void;
  /** Ctrl+D on an empty line: quit at once. */
  onExit(): void;
  /** Ctrl+C on an empty line (onExit when left out): the app may ask for a second press. */
  onQuitRequest?(): void;
  /** Ctrl+L: clear the screen (the conversation stays). */
  onClearScreen?(): void;
  /** Tab: the completed line for `line`, if there is one. */
  complete?(line: string): string | undefined;
  /** Where ↑/↓ history comes from and goes; read once. */
  history: InputHistoryStore;
}

/**
 * Returns the current text (it may hold line breaks) and cursor. The input stays active while busy so
 * Ctrl+C reaches us; this needs Ink rendered with `exitOnCtrlC: false`, or Ink exits on Ctrl+C itself.
 */
export function usePromptInput(options: PromptInputOptions): PromptText {
  const [prompt, setPromptState] = useState(EMPTY_PROMPT);
  // Keys can arrive faster than React re-renders, so the handler reads refs, not render-time values.
  const promptRef = useRef(EMPTY_PROMPT);
  const pastingRef = useRef(false);
  const optionsRef = useRef(options);
  const cursorRef = useRef<ReturnType<typeof historyCursor> | undefined>(undefined);
  cursorRef.current ??= historyCursor(safeLoad(options.history));
  useLayoutEffect(() => {
    optionsRef.current = options;
  });
  const sequenceRef = useRawKeySequence();

  const setPrompt = useCallback((next: PromptText) => {
    if (next === promptRef.current) return;
    promptRef.current = next;
    setPromptState(next);
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
      const { busy, onStop, onExit, onQuitRequest = onExit, onClearScreen, complete } = optionsRef.current;
      const current = promptRef.current;
      if (input === PASTE_START || input === PASTE_END) {
        pastingRef.current = input === PASTE_START;
        return;
      }
      // Keys that reached us in one chunk (tmux send-keys, a busy event loop): Ink hands them over as
      // one unparsed string, so each control key in it is handled on its own, in order.
      if (!pastingRef.current && holdsControlKeys(input)) {
        for (const [part, partKey] of splitControlKeys(input)) handleInput(part, partKey);
        return;
      }
      if (key.ctrl && input === "c") {
        if (busy) onStop();
        else if (current.text !== "") setPrompt(EMPTY_PROMPT);
        else onQuitRequest();
        return;
      }
      if (key.ctrl && input === "l") return onClearScreen?.();
      if (busy) return;
      if (pastingRef.current) return setPrompt(insertPasted(current, input));
      if (key.ctrl && input === "d" && current.text === "") return onExit();
      if (key.upArrow || key.downArrow) {
        const by = key.upArrow ? -1 : 1;
        // Within a multi-line question ↑/↓ move between its lines; from its first or last line, through the history.
        const target = verticalTarget(current.text, current.cursor, by);
        if (target !== undefined) return setPrompt({ text: current.text, cursor: target });
        const moved = moveHistory(cursorRef.current!, by, current.text);
        cursorRef.current = moved.cursor;
        if (moved.line !== current.text) setPrompt({ text: moved.line, cursor: moved.line.length });
        return;
      }
      if (key.tab) {
        const completed = complete?.(current.text);
        if (completed !== undefined && completed !== current.text) setPrompt({ text: completed, cursor: completed.length });
        return;
      }
      const forwardDelete = key.delete && isForwardDelete(sequenceRef.current);
      const edit = editLine(current, input, { ...key, backspace: key.backspace || (key.delete && !forwardDelete), delete: forwardDelete });
      setPrompt(edit.prompt);
      if (edit.submitted !== undefined) submit(edit.submitted);
    },
    [setPrompt, submit, sequenceRef],
  );

  useInput(handleInput);
  return prompt;
}

function safeLoad(history: InputHistoryStore): string[] {
  try {
    return history.load();
  } catch {
    return [];
  }
}
