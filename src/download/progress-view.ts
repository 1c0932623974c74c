// Pull events folded into a per-file view (bytes, rate, ETA, phase), and the plain one-line form for non-TTY output.
import { formatBytes, formatDuration } from "../util/format.ts";
import type { PullEvent } from "./events.ts";

export type FilePhase = "checking" | "waiting" | "downloading" | "verifying" | "done";

export interface FileView {
  file: string;
  phase: FilePhase;
  size: number | null;
  bytes: number;
  hashed: number;
  rateBps: number;
  etaS: number | null;
  note: string | null;
  sample: { t: number; bytes: number };
}

export interface PullView {
  files: FileView[];
}

const RATE_WINDOW_MS = 250;

function upsert(view: PullView, file: string, change: (f: FileView) => FileView): PullView {
  const blank: FileView = { file, phase: "checking", size: null, bytes: 0, hashed: 0, rateBps: 0, etaS: null, note: null, sample: { t: 0, bytes: 0 } };
  const found = view.files.some((f) => f.file === file);
  const files = found ? view.files.map((f) => (f.file === file ? change(f) : f)) : [...view.files, change(blank)];
  return { files };
}

/** Pure: the view after `event`, observed at time `now` (ms). */
export function reducePullView(view: PullView, event: PullEvent, now: number): PullView {
  switch (event.type) {
    case "plan":
      return event.plan.files.reduce(
        (v, f) => upsert(v, f.file, (x) => ({ ...x, phase: f.action === "present" ? "done" : "waiting", size: f.size, bytes: f.resumed_bytes })),
        view,
      );
    case "checking":
      return upsert(view, event.file, (f) => ({ ...f, phase: "checking", note: `checking ${event.path}` }));
    case "start":
      return upsert(view, event.file, (f) => ({
        ...f,
        phase: "downloading",
        size: event.size,
        bytes: event.resumed_bytes,
        note: event.integrity_note,
        sample: { t: now, bytes: event.resumed_bytes },
      }));
    case "progress":
      return upsert(view, event.file, (f) => {
        const dt = now - f.sample.t;
        const next = { ...f, bytes: event.bytes, hashed: event.hashed, size: event.size, phase: event.bytes >= event.size ? ("verifying" as const) : f.phase };
        if (dt < RATE_WINDOW_MS) return next;
        const inst = ((event.bytes - f.sample.bytes) / dt) * 1000;
        const rateBps = f.rateBps > 0 ? 0.7 * f.rateBps + 0.3 * inst : inst;
        const etaS = rateBps > 0 ? (event.size - event.bytes) / rateBps : null;
        return { ...next, rateBps, etaS, sample: { t: now, bytes: event.bytes } };
      });
    case "retry":
      return upsert(view, event.file, (f) => ({ ...f, note: `part ${event.part}: ${event.reason}; retry ${event.attempt} in ${event.delay_ms} ms` }));
    case "stall":
      return upsert(view, event.file, (f) => ({ ...f, note: `part ${event.part} stalled; retrying` }));
    case "restart":
      return upsert(view, event.file, (f) => ({ ...f, bytes: 0, note: `${event.reason}; starting again` }));
    case "probe_failed":
    case "mirror_failed":
      return upsert(view, event.file, (f) => ({ ...f, note: event.message.split("\n")[0] ?? event.url }));
    case "done":
      return upsert(view, event.file, (f) => ({ ...f, phase: "done", bytes: f.size ?? f.bytes, note: doneNote(event) }));
  }
}

function doneNote(e: Extract<PullEvent, { type: "done" }>): string {
  const how = e.action === "present" ? "already there" : e.action === "found" ? "found on this machine" : "downloaded";
  if (e.integrity === "none") return `${how}, not verified (nothing to check against)`;
  return `${how}, verified (${e.integrity === "size" && e.integrity_note ? e.integrity_note : e.integrity})`;
}

export function progressText(f: FileView): string {
  const pct = f.size ? Math.floor((100 * f.bytes) / f.size) : 0;
  return `${formatBytes(f.bytes)} / ${f.size === null ? "?" : formatBytes(f.size)}  ${pct}%  ${formatBytes(f.rateBps)}/s  ETA ${formatDuration(f.etaS)}`;
}

/** A line for a log (non-TTY): every event but progress, and progress at each 10 %. */
export function plainLine(event: PullEvent, view: PullView, lastDecile: Map<string, number>): string | null {
  const f = "file" in event ? view.files.find((x) => x.file === event.file) : undefined;
  switch (event.type) {
    case "plan":
      return `model dir ${event.plan.model_dir}: ${formatBytes(event.plan.needed_bytes)} to write`;
    case "progress": {
      const decile = Math.floor((10 * event.bytes) / Math.max(1, event.size));
      if (!f || decile <= (lastDecile.get(event.file) ?? -1)) return null;
      lastDecile.set(event.file, decile);
      return `${event.file}: ${progressText(f)}`;
    }
    case "start":
      return `${event.file}: downloading ${formatBytes(event.size)} from ${event.url}${event.resumed_bytes ? ` (resuming at ${formatBytes(event.resumed_bytes)})` : ""}${event.integrity_note ? `; ${event.integrity_note}` : ""}`;
    case "done":
      return `${event.file}: ${f?.note ?? "done"} → ${event.path}`;
    case "checking":
      return `${event.file}: checking ${event.path}`;
    default:
      return f?.note ? `${event.file}: ${f.note}` : null;
  }
}
