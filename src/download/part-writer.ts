// Streams one response body into its part of the .partial file: gathered positional writes, progress kept in `part.done`.
import type { FileHandle } from "node:fs/promises";
import { fsError } from "./errors.ts";
import type { Part } from "./part-plan.ts";

/** Writes all of `chunks`, back to back, from `position`; injectable so tests can fill the disk. */
export type WriteAt = (file: FileHandle, chunks: readonly Buffer[], position: number) => Promise<void>;

/** One `pwritev` for the chunks as received (no copy into a bigger buffer), repeated after a short write. */
export const writeAt: WriteAt = async (file, chunks, position) => {
  let rest = chunks;
  let pos = position;
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest as Buffer[], pos);
    pos += bytesWritten;
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
  }
};

/** Chunks are gathered into writes of about 1 MiB (few trips through the thread pool)… */
const WRITE_BYTES = 1024 * 1024;
/** …held at most this long, so a kill loses little more than the last persist interval. */
const FLUSH_MS = 100;

export interface PartSink {
  file: FileHandle;
  write: WriteAt;
  path: string;
  /** Called for every chunk received (the stall watchdog's heartbeat). */
  onChunk: () => void;
  /** On cancel, bytes still in memory are dropped rather than written. */
  cancelled: () => boolean;
}

/**
 * Writes the body from `part.start + part.done` on and stops at `part.end`, which another
 * connection may lower meanwhile (a split; bytes already gathered past the new end are the same
 * bytes of the same file, so writing them is harmless). One write is in flight while the next batch
 * is gathered, so the socket keeps being read during a write. `part.done` moves only when a write
 * has returned, in file order, so what is persisted never claims a byte that is not in the file.
 * Returns when the body ends, or when bytes past a lowered end arrive.
 */
export async function writeBodyToPart(body: AsyncIterable<Buffer>, part: Part, sink: PartSink): Promise<void> {
  /** The next byte to gather; bytes before it are written or being written. */
  let next = part.start + part.done;
  let flushedAt = Date.now();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let inFlight: Promise<void> | null = null;
  let writeFailed = false;

  const write = async (chunks: Buffer[], position: number, bytes: number): Promise<void> => {
    try {
      await sink.write(sink.file, chunks, position);
    } catch (err) {
      writeFailed = true;
      throw fsError(err, `writing ${sink.path}`);
    }
    part.done = Math.min(position + bytes - part.start, part.end - part.start);
  };
  const settled = async (): Promise<void> => void (await inFlight?.catch(() => undefined));
  /** Waits for the write in flight, then starts one for what is gathered. */
  const flush = async (): Promise<void> => {
    const previous = inFlight;
    inFlight = null;
    await previous;
    if (pendingBytes === 0) return;
    const chunks = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    flushedAt = Date.now();
    inFlight = write(chunks, next - bytes, bytes);
    // Awaited by the next flush (or the finally below); this only keeps it from counting as unhandled.
    inFlight.catch(() => undefined);
  };
  try {
    for await (const chunk of body) {
      sink.onChunk();
      const room = part.end - next;
      // Past a lowered end only: a body that ends with its part is read to its end, since leaving
      // the loop early destroys it (an AbortError with a stack trace, per part).
      if (room <= 0) break;
      const data = chunk.length > room ? chunk.subarray(0, room) : chunk;
      pending.push(data);
      pendingBytes += data.length;
      next += data.length;
      if (pendingBytes >= WRITE_BYTES || next >= part.end || Date.now() - flushedAt >= FLUSH_MS) await flush();
    }
  } finally {
    // Bytes received before a drop are kept; after a failed write nothing more is written.
    await settled();
    if (!writeFailed && pendingBytes > 0 && !sink.cancelled()) await flush();
    await inFlight;
  }
}
