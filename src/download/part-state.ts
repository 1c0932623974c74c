// The per-file progress sidecar (`<file>.partial.json`): what the server said, and how much of each part is written and synced.
import { readFile, rm } from "node:fs/promises";
import { writeJsonAtomic } from "./atomic-json.ts";
import { partsAreValid, type Part } from "./part-plan.ts";

/**
 * One part as saved. `written`: bytes from `start` whose pwritev has returned (in the page cache,
 * which a killed process does not lose). `synced`: the first of those that a completed fdatasync
 * covers (on the disk, which a crash or reboot does not lose). 0 <= synced <= written <= end - start.
 */
export interface SavedPart {
  start: number;
  end: number;
  written: number;
  synced: number;
}

export interface PartState {
  /** 2 added `boot_id` and `written`/`synced`; version 1 had one count per part, `done`, always synced. */
  version: 2;
  /** The kernel boot the `written` counts belong to; null where unknown (no /proc), so only `synced` is trusted. */
  boot_id: string | null;
  /** Identity of what is being downloaded: a resume is only valid against the same size and ETag. */
  size: number;
  etag: string | null;
  url: string;
  /** false: the server ignores Range, so the one part restarts from zero on every try. */
  ranges: boolean;
  parts: SavedPart[];
}

const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";
let bootId: Promise<string | null> | undefined;

/** This boot's id (Linux); null elsewhere. Read once: it cannot change while the process lives. */
export function currentBootId(): Promise<string | null> {
  return (bootId ??= readFile(BOOT_ID_PATH, "utf8").then(
    (s) => s.trim() || null,
    () => null,
  ));
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Version 1 parts `{ start, end, done }`: `done` was only ever saved after an fdatasync, so it is a synced count. */
function partsFromV1(parts: unknown[]): SavedPart[] | undefined {
  const out: SavedPart[] = [];
  for (const p of parts) {
    if (typeof p !== "object" || p === null) return undefined;
    const { start, end, done } = p as Record<string, unknown>;
    if (!isCount(start) || !isCount(end) || !isCount(done)) return undefined;
    out.push({ start, end, written: done, synced: done });
  }
  return out;
}

function partsFromV2(parts: unknown[]): SavedPart[] | undefined {
  const out: SavedPart[] = [];
  for (const p of parts) {
    if (typeof p !== "object" || p === null) return undefined;
    const { start, end, written, synced } = p as Record<string, unknown>;
    if (!isCount(start) || !isCount(end) || !isCount(written) || !isCount(synced) || synced > written) return undefined;
    out.push({ start, end, written, synced });
  }
  return out;
}

/** Reads the sidecar (version 2, or 1 as if synced); undefined when it is missing, unreadable, or does not describe `size` bytes. */
export async function loadPartState(path: string): Promise<PartState | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const s = raw as Record<string, unknown>;
  if (typeof s.size !== "number" || typeof s.url !== "string" || !Array.isArray(s.parts)) return undefined;
  if (s.etag !== null && typeof s.etag !== "string") return undefined;
  const parts = s.version === 1 ? partsFromV1(s.parts) : s.version === 2 ? partsFromV2(s.parts) : undefined;
  if (!parts || !partsAreValid(resumeFrom(parts, "written"), s.size)) return undefined;
  const boot = s.version === 2 && typeof s.boot_id === "string" ? s.boot_id : null;
  return { version: 2, boot_id: boot, size: s.size, etag: s.etag, url: s.url, ranges: s.ranges !== false, parts };
}

function resumeFrom(parts: readonly SavedPart[], count: "written" | "synced"): Part[] {
  return parts.map((p) => ({ start: p.start, end: p.end, done: p[count] }));
}

/**
 * Where each part resumes. A killed process leaves its written bytes in the page cache, so on the
 * same boot they count; after a reboot (or where either boot is unknown) only the synced ones do.
 */
export function resumeParts(state: PartState, currentBoot: string | null): Part[] {
  const sameBoot = currentBoot !== null && state.boot_id === currentBoot;
  return resumeFrom(state.parts, sameBoot ? "written" : "synced");
}

/** Writes the sidecar atomically, so a kill at any moment leaves the old or the new one. */
export async function savePartState(path: string, state: PartState): Promise<void> {
  const parts = state.parts.map((p) => ({ start: p.start, end: p.end, written: p.written, synced: p.synced }));
  await writeJsonAtomic(path, { ...state, parts });
}

export async function removePartState(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.tmp`, { force: true });
}
