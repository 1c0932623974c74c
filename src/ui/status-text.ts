// Words for the status line: the engine's state and the latest answer's speed.
import type { BackendStatus } from "../chat/backend.ts";
import { checkExhaustive } from "./check-exhaustive.ts";
import type { TurnStats } from "./chat-view-state.ts";

/** The state as the user should read it; `generating` is true while our answer streams. */
export function describeBackendState(status: BackendStatus, generating: boolean): string {
  const withDetail = (word: string) => (status.detail ? `${word}: ${status.detail}` : word);
  switch (status.state) {
    case "starting":
      return withDetail("starting");
    case "loading":
      return withDetail("loading");
    case "ready":
      return generating ? "generating" : "ready";
    case "busy":
      return "generating";
    case "crashed":
      return "engine crashed";
    case "stopping":
      return "stopping the engine";
    case "stopped":
      return "engine stopped";
    default:
      return checkExhaustive(status.state);
  }
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * "12.3 tok/s · first token 340 ms". The rate counts the tokens after the first over the time
 * after the first, so prompt processing does not hide the generation speed.
 */
export function describeTurnStats({ usage, timings }: TurnStats): string {
  const parts: string[] = [];
  const decodeMs = timings.totalMs - timings.firstTokenMs;
  if (usage.completionTokens >= 2 && decodeMs > 0) {
    const rate = (usage.completionTokens - 1) / (decodeMs / 1000);
    parts.push(`${rate.toFixed(1)} tok/s`);
  }
  if (usage.completionTokens >= 1) parts.push(`first token ${formatDuration(timings.firstTokenMs)}`);
  return parts.join(" · ");
}
