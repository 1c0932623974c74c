// Ctrl+C at an empty prompt while an engine is loaded or loading: the first press arms a ~2 s window, the second quits.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { BackendState } from "../chat/backend.ts";

/** How long "Press Ctrl+C again to quit" stays up; a second Ctrl+C within it quits. */
export const QUIT_CONFIRM_MS = 2000;

/** States in which quitting throws away a model that took (or is taking) minutes to load and compile. */
const HOLDS_ENGINE: ReadonlySet<BackendState> = new Set(["starting", "loading", "ready", "busy"]);

export interface QuitConfirm {
  /** True while the hint is up. */
  armed: boolean;
  /** Ctrl+C at an empty prompt: quits at once where no engine is held, else arms, and quits when armed. */
  request(): void;
}

export function useQuitConfirm(state: BackendState, onQuit: () => void, windowMs = QUIT_CONFIRM_MS): QuitConfirm {
  const [armed, setArmed] = useState(false);
  const armedRef = useRef(false);
  const timerRef = useRef<NodeJS.Timeout | undefined>(undefined);
  const stateRef = useRef(state);
  stateRef.current = state;
  const disarm = useCallback(() => {
    clearTimeout(timerRef.current);
    armedRef.current = false;
    setArmed(false);
  }, []);
  useEffect(() => () => clearTimeout(timerRef.current), []);

  const request = useCallback(() => {
    if (armedRef.current || !HOLDS_ENGINE.has(stateRef.current)) {
      disarm();
      onQuit();
      return;
    }
    armedRef.current = true;
    setArmed(true);
    timerRef.current = setTimeout(disarm, windowMs);
  }, [disarm, onQuit, windowMs]);

  return useMemo(() => ({ armed, request }), [armed, request]);
}
