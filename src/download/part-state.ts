// The per-file progress sidecar (`<file>.partial.json`): what the server said, and how much of each part is on disk.
import { readFile, rm } from "node:fs/promises";
import { writeJsonAtomic } from "./atomic-json.ts";
import { partsAreValid, type Part } from "./part-plan.ts";

export interface PartState {
  version: 1;
  /** Identity of what is being downloaded: a resume is only valid against the same size and ETag. */
  size: number;
  etag: string | null;
  url: string;
  /** false: the server ignores Range, so the one part restarts from zero on every try. */
  ranges: boolean;
  parts: Part[];
}

/** Reads the sidecar; undefined when it is missing, unreadable, or does not describe `size` bytes. */
export async function loadPartState(path: string): Promise<PartState | undefined> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const s = raw as Partial<PartState>;
  if (s.version !== 1 || typeof s.size !== "number" || typeof s.url !== "string" || !Array.isArray(s.parts)) return undefined;
  if (s.etag !== null && typeof s.etag !== "string") return undefined;
  if (!partsAreValid(s.parts, s.size)) return undefined;
  return { version: 1, size: s.size, etag: s.etag, url: s.url, ranges: s.ranges !== false, parts: s.parts };
}

/** Writes the sidecar atomically, so a kill at any moment leaves the old or the new one. */
export async function savePartState(path: string, state: PartState): Promise<void> {
  const parts = state.parts.map((p) => ({ start: p.start, end: p.end, done: p.done }));
  await writeJsonAtomic(path, { ...state, parts });
}

export async function removePartState(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.tmp`, { force: true });
}
