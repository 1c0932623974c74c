// Downloads one remote file into a preallocated .partial: parallel ranged parts, persisted progress, stall watchdog, retries.
import { setMaxListeners } from "node:events";
import { open, stat, type FileHandle } from "node:fs/promises";
import type { Dispatcher } from "undici";
import { DownloadError, fsError } from "./errors.ts";
import { header, httpGet, isRetryable, networkError, parseContentRange, statusError, type RemoteFile } from "./http-source.ts";
import { OrderedHasher, type DigestAlgorithm } from "./ordered-hasher.ts";
import { bytesDone, choosePartSize, contiguousFrontier, isPartComplete, planParts, splitLargestPart, type Part } from "./part-plan.ts";
import { currentBootId, loadPartState, resumeParts, savePartState, type PartState } from "./part-state.ts";
import { writeBodyToPart, type WriteAt } from "./part-writer.ts";
import { backoffDelay, cancelled, sleepUnlessAborted } from "./retry-policy.ts";

export { writeAt, type WriteAt } from "./part-writer.ts";

/** fdatasync; injectable so tests can make the disk slower than the network. */
export type SyncData = (file: FileHandle) => Promise<void>;
export const syncData: SyncData = (file) => file.datasync();

export type TransferEvent =
  | { type: "begin"; bytes: number }
  | { type: "progress"; bytes: number; hashed: number }
  | { type: "retry"; part: number; attempt: number; delay_ms: number; reason: string }
  | { type: "stall"; part: number; stalls: number };

export interface TransferOptions {
  remote: RemoteFile;
  partialPath: string;
  statePath: string;
  connections: number;
  stallTimeoutMs: number;
  maxAttempts: number;
  /** Stalls are retried without spending an attempt, but at most this many in a row per part. */
  maxStalls: number;
  backoffMs: number;
  /** The progress sidecar is saved this often (100 ms: what a kill -9 loses is then mostly socket buffers). */
  persistIntervalMs: number;
  partSize?: number;
  digest: DigestAlgorithm | null;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  write: WriteAt;
  sync: SyncData;
  onEvent: (event: TransferEvent) => void;
}

export interface TransferResult {
  digest: string | null;
  /** From the last byte on disk to the digest in hand. */
  verifyMs: number;
}

/** The server ignored Range or the file changed under us: the caller re-probes and starts from zero. */
export class RestartTransfer extends Error {}
class PartStalled extends Error {}

function restart(res: Dispatcher.ResponseData, reason: string): RestartTransfer {
  res.body.destroy();
  return new RestartTransfer(reason);
}

const MIN_SPLIT_BYTES = 4 * 1024 * 1024;
const TICK_MS = 100;
/** From the end of one fdatasync to the start of the next: the synced counts only matter after a reboot. */
const SYNC_INTERVAL_MS = 500;

/** The transfer in memory: `part.done` is the written count; `synced` holds each part's count covered by a finished fdatasync. */
interface Progress extends Omit<PartState, "version" | "parts"> {
  parts: Part[];
  synced: Map<Part, number>;
}

/** The sidecar for `p`: both counts per part, synced never above written (a part restarted from zero). */
function toSaved(p: Progress): PartState {
  const parts = p.parts.map((q) => ({ start: q.start, end: q.end, written: q.done, synced: Math.min(q.done, p.synced.get(q) ?? 0) }));
  return { version: 2, boot_id: p.boot_id, size: p.size, etag: p.etag, url: p.url, ranges: p.ranges, parts };
}

async function prepareState(o: TransferOptions): Promise<Progress> {
  const { remote } = o;
  const bootId = await currentBootId();
  const saved = await loadPartState(o.statePath);
  const onDisk = await stat(o.partialPath).then((s) => s.size, () => -1);
  if (saved && remote.ranges && saved.ranges && saved.size === remote.size && saved.etag === remote.etag && onDisk === remote.size) {
    const parts = resumeParts(saved, bootId);
    const synced = new Map(parts.map((p, i) => [p, saved.parts[i]!.synced]));
    o.onEvent({ type: "begin", bytes: bytesDone(parts) });
    return { boot_id: bootId, size: saved.size, etag: saved.etag, url: remote.url, ranges: saved.ranges, parts, synced };
  }
  const partSize = remote.ranges ? (o.partSize ?? choosePartSize(remote.size, o.connections)) : Math.max(1, remote.size);
  const parts = planParts(remote.size, partSize);
  const state: Progress = { boot_id: bootId, size: remote.size, etag: remote.etag, url: remote.url, ranges: remote.ranges, parts, synced: new Map() };
  try {
    const file = await open(o.partialPath, "w");
    await file.truncate(remote.size).finally(() => file.close());
    await savePartState(o.statePath, toSaved(state));
  } catch (err) {
    throw fsError(err, `creating ${o.partialPath}`);
  }
  o.onEvent({ type: "begin", bytes: 0 });
  return state;
}

export async function transferFile(o: TransferOptions): Promise<TransferResult> {
  const state = await prepareState(o);
  const file = await open(o.partialPath, "r+").catch((err: unknown) => Promise.reject(fsError(err, `opening ${o.partialPath}`)));
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const onCancel = () => stop.abort();
  o.signal.addEventListener("abort", onCancel, { once: true });
  const hasher = o.digest ? new OrderedHasher(o.partialPath, o.digest) : null;
  const busy = new Set<Part>();
  let failure: unknown;
  let saving: Promise<void> | null = null;
  let syncing: Promise<void> | null = null;
  let lastSync = Date.now();

  // Saving never waits for the disk: a slow fdatasync only holds back the synced counts, which
  // matter after a reboot, not the written ones, which a kill -9 does not lose.
  const save = (): Promise<void> =>
    (saving ??= savePartState(o.statePath, toSaved(state)).finally(() => (saving = null)));
  // The written counts are taken before the fdatasync, so a synced count never claims a byte it did not cover.
  const sync = (): Promise<void> =>
    (syncing ??= (async () => {
      const marks = state.parts.map((p) => [p, p.done] as const);
      await o.sync(file);
      for (const [p, done] of marks) state.synced.set(p, Math.max(done, state.synced.get(p) ?? 0));
    })().finally(() => {
      syncing = null;
      lastSync = Date.now();
    }));

  const tick = setInterval(() => {
    hasher?.advance(contiguousFrontier(state.parts));
    o.onEvent({ type: "progress", bytes: bytesDone(state.parts), hashed: hasher?.hashedBytes ?? 0 });
    if (Date.now() - lastSync >= SYNC_INTERVAL_MS) sync().catch(() => undefined);
  }, Math.min(TICK_MS, o.persistIntervalMs));
  // A save in progress is not waited for: the next tick of this timer takes a fresh snapshot.
  const saver = setInterval(() => save().catch(() => undefined), o.persistIntervalMs);

  const fetchPart = async (part: Part): Promise<void> => {
    const from = part.start + part.done;
    const partStop = new AbortController();
    const onStop = () => partStop.abort();
    stop.signal.addEventListener("abort", onStop, { once: true });
    let lastByteAt = Date.now();
    let stalled = false;
    const watchdog = setInterval(() => {
      if (Date.now() - lastByteAt <= o.stallTimeoutMs) return;
      stalled = true;
      partStop.abort();
    }, Math.max(5, Math.floor(o.stallTimeoutMs / 4)));
    try {
      const res = await httpGet(state.url, {
        dispatcher: o.dispatcher,
        signal: partStop.signal,
        headersTimeoutMs: o.stallTimeoutMs * 2 + 1000,
        range: state.ranges ? { from, to: part.end - 1 } : undefined,
        ifRange: state.etag,
      });
      if (state.ranges) {
        if (res.statusCode === 200) throw restart(res, "the server ignored Range (HTTP 200)");
        if (res.statusCode !== 206) throw statusError(res, state.url);
        const cr = parseContentRange(header(res, "content-range"));
        if (cr?.total !== state.size) throw restart(res, "the file changed size on the server");
        if (cr.from !== from) throw new DownloadError("DOWNLOAD_HTTP", `asked for byte ${from}, got ${cr.from}`, { url: state.url });
      } else {
        if (res.statusCode !== 200) throw statusError(res, state.url);
        part.done = 0;
      }
      await writeBodyToPart(res.body as AsyncIterable<Buffer>, part, {
        file,
        write: o.write,
        path: o.partialPath,
        onChunk: () => (lastByteAt = Date.now()),
        cancelled: () => stop.signal.aborted,
      });
      if (!isPartComplete(part)) {
        const at = part.start + part.done;
        throw new DownloadError("DOWNLOAD_NETWORK", `connection closed at byte ${at}, before ${part.end}`, { url: state.url });
      }
    } catch (err) {
      if (stalled && !stop.signal.aborted) throw new PartStalled();
      if (err instanceof RestartTransfer) throw err;
      throw networkError(err, state.url, stop.signal);
    } finally {
      clearInterval(watchdog);
      stop.signal.removeEventListener("abort", onStop);
    }
  };

  const runPart = async (part: Part): Promise<void> => {
    let attempts = 0;
    let stalls = 0;
    while (!isPartComplete(part)) {
      if (stop.signal.aborted) throw cancelled();
      const before = part.done;
      try {
        await fetchPart(part);
      } catch (err) {
        const progressed = part.done > before;
        const index = state.parts.indexOf(part);
        if (err instanceof PartStalled) {
          stalls = progressed ? 1 : stalls + 1;
          if (stalls > o.maxStalls) {
            throw new DownloadError("DOWNLOAD_STALLED", `no bytes for ${o.stallTimeoutMs} ms, ${stalls} times in a row, from ${state.url}`, { url: state.url });
          }
          o.onEvent({ type: "stall", part: index, stalls });
          continue;
        }
        if (err instanceof RestartTransfer || !isRetryable(err)) throw err;
        attempts = progressed ? 1 : attempts + 1;
        if (attempts >= o.maxAttempts) throw err;
        const delay = backoffDelay(attempts, o.backoffMs);
        o.onEvent({ type: "retry", part: index, attempt: attempts, delay_ms: delay, reason: (err as Error).message });
        await sleepUnlessAborted(delay, stop.signal);
      }
    }
  };

  const takePart = (): Part | undefined =>
    state.parts.find((p) => !busy.has(p) && !isPartComplete(p)) ??
    (state.ranges ? splitLargestPart(state.parts, busy, MIN_SPLIT_BYTES) : undefined);

  const worker = async (): Promise<void> => {
    for (let part = takePart(); part && failure === undefined; part = takePart()) {
      busy.add(part);
      try {
        await runPart(part);
      } finally {
        busy.delete(part);
      }
    }
  };

  const lanes = state.ranges ? Math.max(1, o.connections) : 1;
  await Promise.all(
    Array.from({ length: lanes }, () =>
      worker().catch((err: unknown) => {
        failure ??= err;
        stop.abort();
      }),
    ),
  );
  clearInterval(tick);
  clearInterval(saver);
  o.signal.removeEventListener("abort", onCancel);
  if (failure === undefined && !state.parts.every(isPartComplete)) failure = cancelled();
  // Written counts first (a kill during the last fdatasync loses nothing), then synced ones: the
  // file is on disk before it is renamed into place and marked verified.
  try {
    await (saving as Promise<void> | null)?.catch(() => undefined);
    await save();
    await (syncing as Promise<void> | null)?.catch(() => undefined);
    await sync();
    await save();
  } catch (err) {
    failure ??= fsError(err, `saving progress of ${o.partialPath}`);
  }
  await file.close();
  if (failure !== undefined) {
    await hasher?.abort();
    throw failure;
  }
  o.onEvent({ type: "progress", bytes: state.size, hashed: hasher?.hashedBytes ?? 0 });
  const lastByte = Date.now();
  const digest = hasher ? await hasher.finish(state.size) : null;
  return { digest, verifyMs: Date.now() - lastByte };
}
