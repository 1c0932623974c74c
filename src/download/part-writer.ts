// Streams one response body into its part of the .partial file: coalesced positional writes, progress kept in `part.done`.
import type { FileHandle } from "node:fs/promises";
import { fsError } from "./errors.ts";
import type { Part } from "./part-plan.ts";

/** Writes all of `data` at `position`; injectable so tests can fill the disk. */
export type WriteAt = (file: FileHandle, data: Uint8Array, position: number) => Promise<void>;

export const writeAt: WriteAt = async (file, data, position) => {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await file.write(data, off, data.length - off, position + off);
    off += bytesWritten;
  }
};

/** Chunks are gathered into writes of up to 1 MiB (far fewer trips through the thread pool)… */
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
 * connection may lower meanwhile (a split). `part.done` counts only bytes on disk, so what is
 * persisted never claims a byte that was not written. Returns when the body ends or the part is full.
 */
export async function writeBodyToPart(body: AsyncIterable<Buffer>, part: Part, sink: PartSink): Promise<void> {
  let pos = part.start + part.done;
  let flushedAt = Date.now();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    flushedAt = Date.now();
    await sink.write(sink.file, data, pos).catch((err: unknown) => Promise.reject(fsError(err, `writing ${sink.path}`)));
    pos += data.length;
    part.done = Math.min(pos - part.start, part.end - part.start);
  };
  try {
    for await (const chunk of body) {
      sink.onChunk();
      const room = part.end - pos - pendingBytes;
      const data = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
      pending.push(data);
      pendingBytes += data.length;
      if (pendingBytes >= WRITE_BYTES || pos + pendingBytes >= part.end || Date.now() - flushedAt >= FLUSH_MS) await flush();
      if (pos >= part.end) break;
    }
  } finally {
    // Bytes received before a drop are kept; a failed write already emptied `pending`.
    if (pendingBytes > 0 && !sink.cancelled()) await flush();
  }
}
