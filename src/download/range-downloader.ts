// Downloads one remote file into a preallocated .partial: parallel ranged parts, persisted progress, stall watchdog, retries.
import { setMaxListeners } from "node:events";
import { open, stat } from "node:fs/promises";
import type { Dispatcher } from "undici";
import { DownloadError, fsError } from "./errors.ts";
import { header, httpGet, isRetryable, networkError, parseContentRange, statusError, type RemoteFile } from "./http-source.ts";
import { OrderedHasher, type DigestAlgorithm } from "./ordered-hasher.ts";
import { bytesDone, choosePartSize, contiguousFrontier, isPartComplete, planParts, splitLargestPart, type Part } from "./part-plan.ts";
import { loadPartState, savePartState, type PartState } from "./part-state.ts";
import { writeBodyToPart, type WriteAt } from "./part-writer.ts";
import { backoffDelay, cancelled, sleepUnlessAborted } from "./retry-policy.ts";

export { writeAt, type WriteAt } from "./part-writer.ts";


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
  persistIntervalMs: number;
  partSize?: number;
  digest: DigestAlgorithm | null;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  write: WriteAt;
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

async function prepareState(o: TransferOptions): Promise<PartState> {
  const { remote } = o;
  const saved = await loadPartState(o.statePath);
  const onDisk = await stat(o.partialPath).then((s) => s.size, () => -1);
  if (saved && remote.ranges && saved.ranges && saved.size === remote.size && saved.etag === remote.etag && onDisk === remote.size) {
    o.onEvent({ type: "begin", bytes: bytesDone(saved.parts) });
    return { ...saved, url: remote.url };
  }
  const partSize = remote.ranges ? (o.partSize ?? choosePartSize(remote.size, o.connections)) : Math.max(1, remote.size);
  const state: PartState = { version: 1, size: remote.size, etag: remote.etag, url: remote.url, ranges: remote.ranges, parts: planParts(remote.size, partSize) };
  try {
    const file = await open(o.partialPath, "w");
    await file.truncate(remote.size).finally(() => file.close());
    await savePartState(o.statePath, state);
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
  let lastSave = Date.now();

  // The snapshot is taken before the fdatasync, so the file never claims a byte that is not on disk.
  const persist = (): Promise<void> =>
    (saving ??= (async () => {
      const snapshot: PartState = { ...state, parts: state.parts.map((p) => ({ ...p })) };
      await file.datasync();
      await savePartState(o.statePath, snapshot);
    })().finally(() => {
      saving = null;
      lastSave = Date.now();
    }));

  const tick = setInterval(() => {
    hasher?.advance(contiguousFrontier(state.parts));
    o.onEvent({ type: "progress", bytes: bytesDone(state.parts), hashed: hasher?.hashedBytes ?? 0 });
    if (Date.now() - lastSave >= o.persistIntervalMs) persist().catch(() => undefined);
  }, Math.min(TICK_MS, o.persistIntervalMs));

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
  o.signal.removeEventListener("abort", onCancel);
  if (failure === undefined && !state.parts.every(isPartComplete)) failure = cancelled();
  try {
    await (saving as Promise<void> | null)?.catch(() => undefined);
    await persist();
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
