// Ink view of a pull: one bar per model file with bytes, rate and ETA, plus the latest retry or mirror note.
import { Box, render, Text } from "ink";
import type { FileView, PullView } from "../download/progress-view.ts";
import { progressText } from "../download/progress-view.ts";
import { useTheme } from "./theme.ts";

const BAR_WIDTH = 24;

function bar(f: FileView): string {
  const frac = f.size ? Math.min(1, (f.phase === "verifying" ? f.hashed : f.bytes) / f.size) : 0;
  const full = Math.round(frac * BAR_WIDTH);
  return `[${"#".repeat(full)}${"-".repeat(BAR_WIDTH - full)}]`;
}

function FileLine({ f }: { f: FileView }) {
  const theme = useTheme();
  const label = f.file.padEnd(16);
  if (f.phase === "done") {
    return <Text><Text color={theme.ok}>✓ {label}</Text> <Text dimColor>{f.note}</Text></Text>;
  }
  const status = f.phase === "verifying" ? "verifying…" : f.phase === "downloading" ? progressText(f) : f.phase;
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={theme.accent}>{label}</Text> {bar(f)} {status}
      </Text>
      {f.note && <Text dimColor>{`  ${f.note}`}</Text>}
    </Box>
  );
}

export function DownloadProgress({ view }: { view: PullView }) {
  return (
    <Box flexDirection="column">
      {view.files.map((f) => (
        <FileLine key={f.file} f={f} />
      ))}
    </Box>
  );
}

/** Renders the view into `stdout` and returns how to update and finish it (callers need not import React). */
export function renderDownloadProgress(stdout: NodeJS.WriteStream): { update(view: PullView): void; finish(): void } {
  const app = render(<DownloadProgress view={{ files: [] }} />, { stdout, patchConsole: false, exitOnCtrlC: false });
  return {
    update: (view) => app.rerender(<DownloadProgress view={view} />),
    finish: () => app.unmount(),
  };
}
