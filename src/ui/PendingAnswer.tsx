// The answer being streamed, the only part of the transcript that re-renders.
import { Text } from "ink";
import type { BackendStatus } from "../chat/backend.ts";
import { describeBackendState } from "./status-text.ts";

export function PendingAnswer({ text, status }: { text: string; status: BackendStatus }) {
  if (text !== "") return <Text>{text}</Text>;
  const waiting = status.state === "starting" || status.state === "loading";
  const hint = waiting ? `waiting for the engine (${describeBackendState(status, true)})…` : "…";
  return <Text dimColor>{hint}</Text>;
}
