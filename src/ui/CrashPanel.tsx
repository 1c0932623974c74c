// Shown while the engine is crashed: its last stderr lines, where its log is, and what happens next.
import { Box, Text } from "ink";
import type { BackendStatus } from "../chat/backend.ts";
import { useTheme } from "./theme.ts";

/** How many stderr lines the panel shows. */
const TAIL_LINES = 10;

export function CrashPanel({ status }: { status: BackendStatus }) {
  const theme = useTheme();
  const tail = (status.stderrTail ?? []).slice(-TAIL_LINES);
  // A load failure that a restart would repeat (a corrupt checkpoint, a missing package) is not a crash to retry.
  const lasting = status.restartable === false;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={theme.error} paddingX={1}>
      <Text bold color={theme.error}>
        {lasting ? "The model could not be loaded" : "The engine crashed"}
        {status.detail ? `: ${status.detail}` : "."}
      </Text>
      {tail.map((line, i) => (
        <Text key={i} dimColor wrap="truncate-end">
          {line}
        </Text>
      ))}
      {status.logPath !== undefined && <Text>Full log: {status.logPath}</Text>}
      {lasting ? (
        <Text>Starting it again would fail the same way: fix the cause above, then start glm-chat again (Ctrl+C quits).</Text>
      ) : (
        <Text dimColor>Your next question restarts the engine.</Text>
      )}
    </Box>
  );
}
