// Words for the status line: the engine's state and the latest answer's speed.
import { decodeTokensPerSecond } from "../chat/answer-speed.ts";
import type { BackendStatus } from "../chat/backend.ts";
import { checkExhaustive } from "./check-exhaustive.ts";
import { formatMilliseconds } from "../util/format.ts";
import type { TurnStats } from "./chat-view-state.ts";

/** The state as the user should read it; `generating` is true while our answer streams. */
export function describeBackendState(status: BackendStatus, generating: boolean): string {
  const withDetail = (word: string) => (status.detail ? `${word}: ${status.detail}` : word);
  switch (status.state) {
    case "starting":
      return withDetail("starting");
    case "loading": {
      // The supervisor's detail already starts with the phase and its percent ("checkpoint 40% (5.2 GB)"): once.
      if (status.phase && status.detail?.startsWith(status.phase)) return `loading ${status.detail}`;
      const percent = status.progress === undefined ? "" : ` ${Math.round(status.progress * 100)}%`;
      return withDetail(status.phase ? `loading ${status.phase}${percent}` : "loading");
    }
    case "ready":
      return generating ? "generating" : "ready";
    case "busy":
      return "generating";
    case "crashed":
      return status.restartable === false ? "model not loaded" : "engine crashed";
    case "stopping":
      return "stopping the engine";
    case "stopped":
      return "engine stopped";
    default:
      return checkExhaustive(status.state);
  }
}

/**
 * "12.3 tok/s · first token 340 ms". The rate counts the tokens after the first over the time
 * after the first, so prompt processing does not hide the generation speed.
 */
export function describeTurnStats({ usage, timings }: TurnStats): string {
  const parts: string[] = [];
  const rate = decodeTokensPerSecond(usage.completionTokens, timings.firstTokenMs, timings.totalMs);
  if (rate !== null) parts.push(`${rate.toFixed(1)} tok/s`);
  if (usage.completionTokens >= 1) parts.push(`first token ${formatMilliseconds(timings.firstTokenMs)}`);
  return parts.join(" · ");
}

/** /stats: the latest answer's tokens, speed, first-token time and how full the window was. */
export function describeLastAnswer(stats: TurnStats | undefined, context: { used: number; size: number } | undefined): string {
  if (!stats) return "No answer yet: /stats describes the latest answer.";
  const { usage, timings } = stats;
  const lines = [
    `tokens: ${usage.promptTokens} in the prompt, ${usage.completionTokens} in the answer (ended: ${stats.reason})`,
    `time: first token ${formatMilliseconds(timings.firstTokenMs)}, total ${formatMilliseconds(timings.totalMs)}`,
  ];
  const speed = describeTurnStats(stats).split(" · ").find((part) => part.endsWith("tok/s"));
  if (speed) lines.push(`speed: ${speed}`);
  if (context) lines.push(`context: ${context.used}/${context.size} tokens (${Math.round((100 * context.used) / context.size)}%)`);
  return lines.join("\n");
}
