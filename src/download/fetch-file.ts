// Second phase for one file: download under a lock, falling back through the mirrors, verify, rename, mark verified.
import { rename, rm, stat } from "node:fs/promises";
import { DownloadError, fsError } from "./errors.ts";
import { acquireLock } from "./file-lock.ts";
import type { RemoteFile } from "./http-source.ts";
import { expectationFor, integrityOf, probeWithRetry, type PlanContext, type ResolvedFile } from "./plan-files.ts";
import { removePartState } from "./part-state.ts";
import { RestartTransfer, transferFile, type TransferOptions } from "./range-downloader.ts";
import { writeMarker } from "./verified-marker.ts";

export type TransferSettings = Pick<
  TransferOptions,
  "connections" | "stallTimeoutMs" | "maxAttempts" | "maxStalls" | "backoffMs" | "persistIntervalMs" | "partSize" | "write" | "sync"
>;

const MAX_RESTARTS = 2;

/** Downloads from one source; a server that ignores Range or changes the file mid-way restarts from zero. */
async function fetchFrom(first: RemoteFile, rf: ResolvedFile, ctx: PlanContext, settings: TransferSettings): Promise<void> {
  const { path } = rf.planned;
  const file = rf.entry.name;
  const partialPath = `${path}.partial`;
  const statePath = `${partialPath}.json`;
  let remote = first;
  for (let restarts = 0; ; restarts++) {
    const expect = expectationFor(rf.entry, remote, ctx.pins[file] ?? rf.entry.sha256);
    const integrity = integrityOf(expect);
    try {
      const result = await transferFile({
        ...settings,
        remote,
        partialPath,
        statePath,
        digest: expect.algorithm,
        dispatcher: ctx.dispatcher,
        signal: ctx.signal,
        onEvent: (e) => {
          if (e.type === "begin") {
            ctx.onEvent({ type: "start", file, url: remote.url, size: remote.size, resumed_bytes: e.bytes, integrity, integrity_note: expect.note });
          } else {
            ctx.onEvent(e.type === "progress" ? { ...e, file, size: remote.size } : { ...e, file });
          }
        },
      });
      const size = (await stat(partialPath)).size;
      if (size !== remote.size) {
        await discard(partialPath, statePath);
        throw new DownloadError("DOWNLOAD_SIZE_MISMATCH", `${file} from ${remote.url}: ${size} bytes on disk, the server said ${remote.size}`, { file, url: remote.url });
      }
      if (expect.digest && result.digest !== expect.digest) {
        await discard(partialPath, statePath);
        throw new DownloadError(
          "DOWNLOAD_DIGEST_MISMATCH",
          `${file} from ${remote.url}: ${expect.algorithm} is ${result.digest}, expected ${expect.digest}; the download was deleted`,
          { file, url: remote.url },
        );
      }
      await rename(partialPath, path).catch((err: unknown) => Promise.reject(fsError(err, `renaming ${partialPath}`, file)));
      await removePartState(statePath);
      if (integrity !== "none") await writeMarker(path, integrity, result.digest, remote.url);
      ctx.onEvent({ type: "done", file, path, action: "download", integrity, integrity_note: expect.note, digest: result.digest, verify_ms: result.verifyMs });
      return;
    } catch (err) {
      if (!(err instanceof RestartTransfer) || restarts >= MAX_RESTARTS) throw err;
      ctx.onEvent({ type: "restart", file, url: remote.url, reason: err.message });
      await discard(partialPath, statePath);
      remote = await probeWithRetry(remote.url, ctx);
      // Range was ignored although the probe got a 206: do not trust Range on this server again.
      if (restarts >= 1 || err.message.includes("Range")) remote = { ...remote, ranges: false };
    }
  }
}

async function discard(partialPath: string, statePath: string): Promise<void> {
  await rm(partialPath, { force: true });
  await removePartState(statePath);
}

/** Tries the probed source, then the other mirrors in order; fatal errors (disk, cancel, lock) stop at once. */
export async function fetchFile(rf: ResolvedFile, ctx: PlanContext, settings: TransferSettings): Promise<void> {
  const file = rf.entry.name;
  const release = await acquireLock(`${rf.planned.path}.lock`, file);
  const errors: DownloadError[] = [];
  try {
    const start = rf.remote ? rf.urls.indexOf(rf.remote.url) : 0;
    for (const url of rf.urls.slice(Math.max(0, start))) {
      try {
        const remote = url === rf.remote?.url ? rf.remote : await probeWithRetry(url, ctx);
        await fetchFrom(remote, rf, ctx, settings);
        return;
      } catch (err) {
        const e = err instanceof DownloadError ? err : fsError(err, `downloading ${file}`, file);
        if (e.isFatal) throw e;
        errors.push(e);
        ctx.onEvent({ type: "mirror_failed", file, url, code: e.code, message: e.message });
      }
    }
  } finally {
    await release();
  }
  const last = errors.at(-1);
  if (errors.length === 1 && last) throw last;
  throw new DownloadError(last?.code ?? "DOWNLOAD_NO_SOURCE", `${file}: every source failed:\n${errors.map((e) => `  ${e.message}`).join("\n")}`, {
    file,
    cause: errors,
  });
}
