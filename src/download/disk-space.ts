// Free-space check before a pull: counts only the bytes still to come, and says what is needed and what is free.
import { statfs } from "node:fs/promises";
import { formatBytes } from "../util/format.ts";
import { DownloadError } from "./errors.ts";

export type FreeBytes = (dir: string) => Promise<number>;

export const freeBytes: FreeBytes = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

const SLACK_BYTES = 64 * 1024 * 1024;

/** Throws DOWNLOAD_NO_SPACE unless `dir` has room for `needed` bytes plus a little slack. */
export async function checkDiskSpace(dir: string, needed: number, free: FreeBytes = freeBytes): Promise<void> {
  if (needed <= 0) return;
  const available = await free(dir);
  if (available >= needed + SLACK_BYTES) return;
  throw new DownloadError(
    "DOWNLOAD_NO_SPACE",
    `not enough space in ${dir}: ${formatBytes(needed)} more are needed, ${formatBytes(available)} free`,
  );
}
