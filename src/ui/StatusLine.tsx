// The line under the prompt: engine state, device, engine and precision (with why), and the latest answer's speed.
import { memo } from "react";
import { Text } from "ink";
import type { BackendStatus } from "../chat/backend.ts";
import type { ContextFill, TurnStats } from "./chat-view-state.ts";
import { describeBackendState, describeTurnStats } from "./status-text.ts";
import { useTheme, type Theme } from "./theme.ts";

export interface StatusLineProps {
  status: BackendStatus;
  /** Whether an answer is streaming now, and whether Ctrl+C has asked it to stop. */
  turn: "none" | "streaming" | "stopping";
  /** Of the latest finished answer. */
  stats: TurnStats | undefined;
  /** How full the model's window was on the latest turn. */
  context?: ContextFill | undefined;
}

function stateColour(status: BackendStatus, theme: Theme): string | undefined {
  if (status.state === "crashed") return theme.error;
  if (status.state === "ready" || status.state === "busy") return theme.ok;
  return theme.warning;
}

function keyHint(turn: StatusLineProps["turn"]): string {
  if (turn === "none") return "/help";
  return turn === "stopping" ? "stopping… Ctrl+C again quits" : "Ctrl+C stops the answer";
}

/**
 * "int8" as given; with --precision auto, "float16 (auto)", or for a smaller precision auto fell back to, the one
 * fact that made it: "int8 (auto: float16 needs about 15.6 GB)". The whole reason is in --json and doctor; here it
 * would wrap a narrow terminal's status line over five lines. On Ascend/GPU int8/int4 add "decoded per matrix".
 */
function precisionText(precision: BackendStatus["precision"]): string | undefined {
  if (!precision) return undefined;
  const how = precision.decodedInGraph ? ", decoded per matrix" : "";
  if (!precision.reason.startsWith("auto")) return precision.value + how;
  const need = /float16 needs about [\d.]+ [kMG]?B/.exec(precision.reason);
  return (precision.value !== "float16" && need ? `${precision.value} (auto: ${need[0]})` : `${precision.value} (auto)`) + how;
}

/** Memoized: its props do not change while an answer's text streams in. */
export const StatusLine = memo(function StatusLine({ status, turn, stats, context }: StatusLineProps) {
  const theme = useTheme();
  const generating = turn !== "none";
  const details = [status.device, status.engine, precisionText(status.precision)];
  if (context) details.push(`ctx ${context.used}/${context.size}`);
  if (stats && !generating) details.push(describeTurnStats(stats));
  const rest = details.filter((part) => part !== undefined && part !== "").join(" · ");
  // One Text, so a narrow terminal wraps it as one paragraph instead of squeezing columns.
  return (
    <Text>
      <Text color={stateColour(status, theme)}>● {describeBackendState(status, generating)}</Text>
      {rest !== "" && <Text dimColor> · {rest}</Text>}
      <Text dimColor>{`  (${keyHint(turn)})`}</Text>
    </Text>
  );
});
