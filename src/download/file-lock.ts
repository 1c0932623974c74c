// A lock file per download (`<file>.lock`, holding the pid) so two processes never write one file; stale locks are taken over.
import { hostname } from "node:os";
import { readFile, rm, writeFile } from "node:fs/promises";
import { DownloadError, fsError } from "./errors.ts";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock or throws DOWNLOAD_LOCKED naming the holder; returns the release function. */
export async function acquireLock(path: string, file: string): Promise<() => Promise<void>> {
  const me = JSON.stringify({ pid: process.pid, host: hostname() });
  for (let tries = 0; tries < 3; tries++) {
    try {
      await writeFile(path, me, { flag: "wx" });
      return async () => {
        const now = await readFile(path, "utf8").catch(() => "");
        if (now === me) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(err, `creating the lock ${path}`, file);
    }
    const holder = await readLock(path);
    // A lock from another host (shared filesystem) cannot be checked: respect it.
    if (holder && (holder.host !== hostname() || isAlive(holder.pid))) {
      throw new DownloadError("DOWNLOAD_LOCKED", `${file} is being downloaded by process ${holder.pid} on ${holder.host} (lock: ${path})`, { file });
    }
    await rm(path, { force: true });
  }
  throw new DownloadError("DOWNLOAD_LOCKED", `could not take the lock ${path}`, { file });
}

async function readLock(path: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const raw = JSON.parse(await readFile(path, "utf8")) as { pid?: unknown; host?: unknown };
    if (typeof raw.pid === "number" && typeof raw.host === "string") return { pid: raw.pid, host: raw.host };
  } catch {
    // Unreadable or half-written: treated as stale.
  }
  return undefined;
}
