// Runs one question through the ChatSession: streams into the pending answer, commits it when it ends.
import { useCallback, useEffect, useMemo, useRef, type Dispatch } from "react";
import type { ChatSession, ContextInfo } from "../chat/chat-session.ts";
import type { AnswerEnd, ChatViewAction, LiveFit, TurnStats } from "./chat-view-state.ts";
import { useCoalescedText } from "./useCoalescedText.ts";

/** How often the in-flight answer is re-rendered while tokens stream in. */
export const FLUSH_INTERVAL_MS = 30;

export interface ChatTurnControls {
  /** Starts a turn; ignored while one is running. */
  start(query: string): void;
  /**
   * Stops the running turn; its partial answer stays, marked stopped. Returns false when the turn
   * had already been told to stop and is still running (the engine is not answering the stop).
   */
  stop(): boolean;
}

function describeError(error: unknown): { message: string; code: string | undefined } {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return { message, code: typeof code === "string" ? code : undefined };
}

/** `fit` says how much room the live answer has now; without it, the answer is never split. */
export function useChatTurn(session: ChatSession, dispatch: Dispatch<ChatViewAction>, fit?: () => LiveFit): ChatTurnControls {
  const controllerRef = useRef<AbortController | undefined>(undefined);
  const fitRef = useRef(fit);
  fitRef.current = fit;
  const showText = useCallback((text: string) => dispatch({ type: "turn-text", text, fit: fitRef.current?.() }), [dispatch]);
  const pending = useCoalescedText(showText, FLUSH_INTERVAL_MS);

  // Leaving the screen mid-answer stops the answer.
  useEffect(() => () => controllerRef.current?.abort(), []);

  const run = useCallback(
    async (query: string, controller: AbortController) => {
      let text = "";
      let end: AnswerEnd = "failed";
      let stats: TurnStats | undefined;
      let error: ReturnType<typeof describeError> | undefined;
      try {
        const onContext = (info: ContextInfo) => dispatch({ type: "turn-context", info });
        for await (const event of session.send(query, { signal: controller.signal, onContext })) {
          if (event.type === "delta") {
            text += event.text;
            pending.append(event.text);
          } else {
            const { reason, usage, timings, saveError } = event;
            stats = { reason, usage, timings };
            end = reason === "cancelled" ? "stopped" : reason === "length" ? "length" : "complete";
            if (saveError) error = { message: `The answer was not saved: ${saveError.message}`, code: describeError(saveError).code };
          }
        }
      } catch (caught) {
        // An error after the user pressed Ctrl+C is the stop itself, not something to report.
        if (controller.signal.aborted) end = "stopped";
        else error = describeError(caught);
      } finally {
        pending.reset();
        controllerRef.current = undefined;
      }
      dispatch({ type: "turn-ended", text, end, stats, error });
    },
    [session, dispatch, pending],
  );

  const start = useCallback(
    (query: string) => {
      if (controllerRef.current) return;
      const controller = new AbortController();
      controllerRef.current = controller;
      dispatch({ type: "turn-started", query });
      void run(query, controller);
    },
    [dispatch, run],
  );

  const stop = useCallback(() => {
    const controller = controllerRef.current;
    if (!controller) return true;
    if (controller.signal.aborted) return false;
    controller.abort();
    dispatch({ type: "turn-stopping" });
    return true;
  }, [dispatch]);

  return useMemo(() => ({ start, stop }), [start, stop]);
}
