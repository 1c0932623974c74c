// Shows the Python setup's progress: one live line in a terminal, plain step lines elsewhere (logs, CI, pipes).
import { formatBytes, formatDuration } from "../util/format.ts";
import type { PipProgress } from "./pip-progress.ts";
import type { InstallEvent } from "./python-env.ts";

export interface InstallOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** "package 12 (numpy) · 340.2 MB downloaded", "installing 45 packages · 340.2 MB downloaded". */
export function describePip(p: PipProgress): string {
  const parts: string[] = [];
  if (p.phase === "installing" || p.phase === "done") {
    const n = p.installing ?? p.packagesSeen;
    const inPlace = p.phase === "installing" && p.installedSoFar ? ` (${p.installedSoFar} in place)` : "";
    parts.push(`${p.phase === "done" ? "installed" : "installing"} ${n} package${n === 1 ? "" : "s"}${inPlace}`);
  }
  else if (p.phase === "building") parts.push(`building ${p.current ?? "a wheel"}`);
  else if (p.packagesSeen > 0) parts.push(`package ${p.packagesSeen}${p.current ? ` (${p.current})` : ""}`);
  if (p.downloadedBytes > 0) parts.push(`${formatBytes(p.downloadedBytes)} downloaded`);
  return parts.join(" · ");
}

/**
 * The step's words in `room` columns, shortened where a reader loses least: its parenthetical first, then whole
 * words, never mid-word ("Installing MindSpore + MindFormers (about 1 GB; MindSpore is…" became "… (about 1 GB…").
 */
export function fitStepText(step: string, room: number): string {
  if (step.length <= room) return step;
  const bare = step.replace(/\s*\([^()]*\)$/, "");
  if (bare.length <= room) return bare;
  const cut = bare.slice(0, room - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > room / 2 ? cut.slice(0, space) : cut}…`;
}

/** Without a live line: at most one progress line per phase and per this long. */
export const PLAIN_EVERY_MS = 30_000;

function plainPip(p: PipProgress): string {
  const detail = describePip(p);
  return p.phase === "installing" || p.phase === "building" ? detail : `${p.phase}${detail ? `: ${detail}` : ""}`;
}

export interface InstallReporter {
  onEvent(event: InstallEvent): void;
}

/**
 * `prefix` starts every plain line (e.g. "glm-chat: "). In a terminal the live line is redrawn on each
 * pip line and once a second for the elapsed time; elsewhere a line is printed per step and per pip phase.
 */
export function installReporter(out: InstallOutput, prefix: string, now: () => number = Date.now): InstallReporter {
  let step: string | undefined;
  let startedAt = 0;
  let pip: PipProgress | undefined;
  let lastPhase: string | undefined;
  let lastPlainAt = 0;
  let timer: NodeJS.Timeout | undefined;
  const elapsed = () => formatDuration((now() - startedAt) / 1000);
  const live = Boolean(out.isTTY);

  const draw = () => {
    if (!step) return;
    const detail = pip ? describePip(pip) : "";
    const tail = `${detail ? ` · ${detail}` : ""} · ${elapsed()}`;
    // One row: a long step text gives way first, so the numbers stay in view.
    const room = Math.max(10, (out.columns ?? 80) - 1 - prefix.length - tail.length);
    const text = fitStepText(step, room);
    out.write(`\r\x1b[K${`${prefix}${text}${tail}`.slice(0, Math.max(20, (out.columns ?? 80) - 1))}`);
  };
  const clearLive = () => {
    if (live && step) out.write("\r\x1b[K");
  };
  const endStep = (outcome: string) => {
    clearInterval(timer);
    timer = undefined;
    if (!step) return;
    const detail = pip ? describePip(pip) : "";
    if (live) out.write(`\r\x1b[K${prefix}${step}: ${outcome} in ${elapsed()}${detail ? ` (${detail})` : ""}\n`);
    else out.write(`${prefix}  ${outcome} in ${elapsed()}${detail ? ` (${detail})` : ""}\n`);
    step = undefined;
  };

  return {
    onEvent(event) {
      switch (event.type) {
        case "step":
          endStep("done");
          step = event.text;
          startedAt = now();
          pip = undefined;
          lastPhase = undefined;
          if (live) {
            draw();
            timer = setInterval(draw, 1000);
            timer.unref();
          } else out.write(`${prefix}${step}\n`);
          return;
        case "pip":
          pip = event.progress;
          if (live) return draw();
          // Plain lines: one when pip's phase changes, and one every PLAIN_EVERY_MS while it stays in one.
          if (pip.phase === "done" || (pip.phase === lastPhase && now() - lastPlainAt < PLAIN_EVERY_MS)) return;
          out.write(`${prefix}  ${plainPip(pip)} · ${elapsed()}\n`);
          lastPhase = pip.phase;
          lastPlainAt = now();
          return;
        case "step-done":
          return endStep("done");
        case "step-failed":
          return endStep("failed");
        case "note":
          clearLive();
          out.write(`${prefix}${event.text}\n`);
          if (live) draw();
          return;
      }
    }
  };
}
