// glm-chat quantize's console: the copy's progress (a live line in a terminal, a line per tenth elsewhere), its result and its failures with their fix.
import type { BackendStatus } from "../chat/backend.ts";
import type { QuantizedCopyInfo } from "../protocol/messages.ts";
import { SidecarError } from "../sidecar/errors.ts";
import { formatBytes, formatDuration, formatMilliseconds } from "../util/format.ts";

export type QuantizedPrecision = "int8" | "int4";

const BAR_WIDTH = 20;

/** The sidecar's own words of a status without a fraction ("looking for a valid int8 copy of …"), less the phase name the supervisor puts around them. */
function sidecarWords(status: BackendStatus): string {
  const detail = status.detail ?? "";
  return /^[a-z]+(?: \d+%)? \((.*)\)$/s.exec(detail)?.[1] ?? detail;
}

/** "making the int8 copy [########            ]  41% · 1m02s, about 1m29s left"; the sidecar's words while no fraction is known. */
export function progressLine(precision: QuantizedPrecision, status: BackendStatus, elapsedS: number): string | undefined {
  if (status.state === "starting") return "starting the engine";
  if (status.state !== "loading") return undefined;
  if (status.phase !== "quantize" || status.progress === undefined) return sidecarWords(status) || status.phase;
  const fraction = Math.min(1, Math.max(0, status.progress));
  const filled = Math.round(fraction * BAR_WIDTH);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const left = fraction >= 0.02 && fraction < 1 ? `, about ${formatDuration((elapsedS * (1 - fraction)) / fraction)} left` : "";
  return `making the ${precision} copy [${"#".repeat(filled)}${" ".repeat(BAR_WIDTH - filled)}] ${percent} · ${formatDuration(elapsedS)}${left}`;
}

export interface QuantizeOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface QuantizeReporter {
  onStatus(status: BackendStatus): void;
  /** Clears the live line, so what follows starts on a clean one. */
  finish(): void;
}

/** `prefix` starts each line. A terminal gets one line redrawn in place; logs and pipes a line per change of words and per tenth of the copy. */
export function quantizeReporter(out: QuantizeOutput, prefix: string, precision: QuantizedPrecision, now: () => number = Date.now): QuantizeReporter {
  let makingSince: number | undefined;
  let shown = "";
  let drawn = false;
  let lastTenth = -1;
  let lastWords = "";
  return {
    onStatus(status) {
      const making = status.state === "loading" && status.phase === "quantize" && status.progress !== undefined;
      if (making) makingSince ??= now();
      const line = progressLine(precision, status, making ? (now() - makingSince!) / 1000 : 0);
      if (line === undefined) return;
      if (out.isTTY) {
        const text = `${prefix}${line}`;
        const fitted = out.columns && text.length >= out.columns ? `${text.slice(0, out.columns - 2)}…` : text;
        if (fitted !== shown) out.write(`\r\x1b[2K${fitted}`);
        shown = fitted;
        drawn = true;
        return;
      }
      if (making) {
        const tenth = Math.floor(Math.min(1, status.progress!) * 10);
        if (tenth <= lastTenth) return;
        lastTenth = tenth;
      } else if (line === lastWords) {
        return;
      } else {
        lastWords = line;
      }
      out.write(`${prefix}${line}\n`);
    },
    finish() {
      if (drawn) out.write("\r\x1b[2K");
      drawn = false;
      shown = "";
    },
  };
}

/** What stays on stdout: where the copy is, its size, and how long it took (or that it was already there). */
export function resultText(copy: QuantizedCopyInfo, command: string): string {
  const where = `  ${copy.path} (${formatBytes(copy.bytes)})`;
  const use = `${command} --precision ${copy.precision} loads it (mapped from disk, not read into memory).`;
  if (!copy.made) return `the ${copy.precision} copy of ${copy.checkpoint} is already there (checked in ${formatMilliseconds(copy.seconds * 1000)}; nothing made):\n${where}\n${use}\n`;
  const took = copy.seconds < 60 ? formatMilliseconds(copy.seconds * 1000) : formatDuration(copy.seconds);
  return `made the ${copy.precision} copy of ${copy.checkpoint} in ${took}:\n${where}\n${use}\n`;
}

/** The fix for the copy's own errors (the sidecar's `ename`), where its words do not say one. */
function fixFor(ename: string | undefined, command: string, modelDir: string): string | undefined {
  switch (ename) {
    case "DiskFull":
      return "free that much space there, or set XDG_CACHE_HOME to a folder on a disk with room (the copy then goes under it, and glm-chat looks for it there too)";
    case "QuantizedCopyUnwritable":
      return `make ${modelDir} writable, or set XDG_CACHE_HOME to a writable folder (the copy then goes under it, and glm-chat looks for it there too)`;
    case "ModelFileMissing":
    case "CheckpointInvalid":
      return `${command} pull --model-dir ${modelDir} downloads it (and replaces a damaged file)`;
    default:
      return undefined;
  }
}

/** One message for a failed run, with its fix; the engine's last stderr lines and its log where it died or failed in its own way. No stack. */
export function failureText(error: unknown, options: { prefix: string; precision: QuantizedPrecision; command: string; modelDir: string }): string {
  const { prefix, precision, command, modelDir } = options;
  if (!(error instanceof SidecarError)) {
    const code = (error as { code?: unknown } | null)?.code;
    return `${prefix}cannot make the ${precision} copy: ${(error as Error)?.message ?? String(error)}${typeof code === "string" ? ` [${code}]` : ""}\n`;
  }
  const words = error.ename && error.message.startsWith(`${error.ename}: `) ? error.message.slice(error.ename.length + 2) : error.message;
  const fix = fixFor(error.ename, command, modelDir);
  const lines = [`${prefix}cannot make the ${precision} copy: ${words}${error.ename ? ` [${error.ename}]` : ` [${error.code}]`}`];
  if (!fix) lines.push(...error.stderrTail, ...(error.logPath ? [`log: ${error.logPath}`] : []));
  else if (!/\bpull\b/.test(words)) lines.push(`fix: ${fix}`); // a damaged checkpoint's own words already send the user to pull
  return `${lines.join("\n")}\n`;
}
