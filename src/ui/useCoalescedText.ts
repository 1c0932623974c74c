// Collects fast-arriving text in a ref and hands it on at most once per interval, not once per token.
import { useCallback, useEffect, useMemo, useRef } from "react";

export interface CoalescedText {
  /** Adds text; `onFlush` gets the whole text so far within `intervalMs`. */
  append(chunk: string): void;
  /** Drops the text and any pending flush. */
  reset(): void;
}

/** `onFlush` should be stable (e.g. wrap it in useCallback). */
export function useCoalescedText(onFlush: (text: string) => void, intervalMs: number): CoalescedText {
  const textRef = useRef("");
  const timerRef = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const append = useCallback(
    (chunk: string) => {
      textRef.current += chunk;
      timerRef.current ??= setTimeout(() => {
        timerRef.current = undefined;
        onFlush(textRef.current);
      }, intervalMs);
    },
    [onFlush, intervalMs],
  );

  const reset = useCallback(() => {
    clearTimeout(timerRef.current);
    timerRef.current = undefined;
    textRef.current = "";
  }, []);

  useEffect(() => reset, [reset]);

  return useMemo(() => ({ append, reset }), [append, reset]);
}
