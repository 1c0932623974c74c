// The raw sequence of the keypress being handled, read from Ink's input events (Ink's Key leaves it out).
import { useLayoutEffect, useRef } from "react";
import { useStdin } from "ink";

/**
 * Its listener is added in a layout effect, so before useInput's (a passive effect): for every
 * keypress it runs first, and a useInput handler reads that keypress's sequence here.
 */
export function useRawKeySequence(): { readonly current: string } {
  const { internal_eventEmitter: events } = useStdin();
  const sequenceRef = useRef("");
  useLayoutEffect(() => {
    const record = (sequence: string) => {
      sequenceRef.current = sequence;
    };
    events?.on("input", record);
    return () => {
      events?.off("input", record);
    };
  }, [events]);
  return sequenceRef;
}
