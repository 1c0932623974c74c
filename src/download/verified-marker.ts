// `.<file>.verified.json` beside a model file: size, mtime and digest at verification, so later starts skip the re-hash.
import { readFile, rm, stat } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { writeJsonAtomic } from "./atomic-json.ts";

export interface VerifiedMarker {
  size: number;
  mtime_ms: number;
  algorithm: "sha256" | "md5" | "size";
  digest: string | null;
  source: string;
}

export function markerPath(filePath: string): string {
  return join(dirname(filePath), `.${basename(filePath)}.verified.json`);
}

export async function writeMarker(filePath: string, algorithm: VerifiedMarker["algorithm"], digest: string | null, source: string): Promise<void> {
  const s = await stat(filePath);
  const marker: VerifiedMarker = { size: s.size, mtime_ms: s.mtimeMs, algorithm, digest, source };
  await writeJsonAtomic(markerPath(filePath), marker);
}

/** The marker, if it still describes the file as it is now (same size and mtime). */
export async function readMarker(filePath: string): Promise<VerifiedMarker | undefined> {
  try {
    const [raw, s] = await Promise.all([readFile(markerPath(filePath), "utf8"), stat(filePath)]);
    const m = JSON.parse(raw) as VerifiedMarker;
    return m.size === s.size && m.mtime_ms === s.mtimeMs ? m : undefined;
  } catch {
    return undefined;
  }
}

export async function removeMarker(filePath: string): Promise<void> {
  await rm(markerPath(filePath), { force: true });
}
