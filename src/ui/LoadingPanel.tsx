// While the engine starts: the load phases done and under way, the current one's progress, and time elapsed.
import { useEffect, useState } from "react";
import { Box, Text } from "ink";
import type { BackendStatus } from "../chat/backend.ts";
import { formatMilliseconds } from "../util/format.ts";
import { useTheme } from "./theme.ts";

/** The sidecar's load phases, in order (docs/protocol.md). */
export const LOAD_PHASES = ["import", "build", "checkpoint", "compile", "warmup"] as const;
/** While --precision int8/int4 makes its quantized copy (once per checkpoint), that step shows before the checkpoint. */
const WITH_QUANTIZE = ["import", "build", "quantize", "checkpoint", "compile", "warmup"] as const;

const PHASE_WORDS: Record<string, string> = {
  import: "importing MindSpore / MindFormers",
  build: "building the model",
  quantize: "making the quantized copy of the checkpoint (once)",
  checkpoint: "loading the checkpoint",
  compile: "compiling the graph (minutes on a first run)",
  warmup: "warming up",
};

/** Seconds since mount, ticking once a second while mounted. */
function useElapsed(): number {
  const [start] = useState(() => Date.now());
  const [now, setNow] = useState(start);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now - start;
}

export function LoadingPanel({ status }: { status: BackendStatus }) {
  const theme = useTheme();
  const elapsed = useElapsed();
  const phases: readonly string[] = status.phase === "quantize" ? WITH_QUANTIZE : LOAD_PHASES;
  const current = status.phase === undefined ? -1 : phases.indexOf(status.phase);
  const percent = status.progress === undefined ? "" : ` ${Math.round(status.progress * 100)}%`;
  return (
    <Box flexDirection="column">
      <Text color={theme.warning}>
        Starting the engine… {formatMilliseconds(elapsed)}
        {status.detail ? <Text dimColor> · {status.detail}</Text> : null}
      </Text>
      {phases.map((phase, i) => {
        const mark = i < current ? "✓" : i === current ? "›" : " ";
        return (
          <Text key={phase} dimColor={i !== current} wrap="truncate-end">
            {` ${mark} ${PHASE_WORDS[phase]}${i === current ? percent : ""}`}
          </Text>
        );
      })}
    </Box>
  );
}
