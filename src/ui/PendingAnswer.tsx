// The live part of the answer being streamed, the only part of the transcript that re-renders.
import { Text } from "ink";
import type { BackendStatus } from "../chat/backend.ts";
import { liveText, type PendingAnswerState } from "./chat-view-state.ts";
import { Markdown } from "./Markdown.tsx";
import { describeBackendState } from "./status-text.ts";

export function PendingAnswer({ pending, status }: { pending: PendingAnswerState; status: BackendStatus }) {
  const text = liveText(pending);
  if (text !== "") return <Markdown text={text} />;
  if (pending.committed > 0) return null;
  const waiting = status.state === "starting" || status.state === "loading";
  const hint = waiting ? `waiting for the engine (${describeBackendState(status, true)})…` : "…";
  return <Text dimColor>{hint}</Text>;
}
