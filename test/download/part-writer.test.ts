// The part writer: gathered writes at the right offsets, part.done only past bytes on disk, one write in flight, failures.
import type { FileHandle } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import type { Part } from "../../src/download/part-plan.ts";
import { writeAt, writeBodyToPart, type WriteAt } from "../../src/download/part-writer.ts";

const KIB = 1024;

function chunks(count: number, size: number, from = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(size, (from + i) % 256));
}

async function* bodyOf(list: Buffer[], afterEach?: (i: number) => Promise<void>): AsyncIterable<Buffer> {
  for (const [i, c] of list.entries()) {
    yield c;
    await afterEach?.(i);
  }
}

/** A write that records what it was given; the first `held` calls resolve only when the test says so. */
function recordingWrite(held = 0) {
  const calls: { position: number; bytes: number; data: Buffer }[] = [];
  const releases: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const write: WriteAt = async (_file, list, position) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const data = Buffer.concat(list);
    calls.push({ position, bytes: data.length, data });
    if (calls.length <= held) await new Promise<void>((r) => releases.push(r));
    inFlight--;
  };
  return { write, calls, releases, maxInFlight: () => maxInFlight };
}

const sink = (write: WriteAt, cancelled = () => false) => ({ file: {} as FileHandle, write, path: "/x/model.bin.partial", onChunk: () => undefined, cancelled });

describe("writeBodyToPart", () => {
  it("gathers chunks into ~1 MiB writes at the part's offsets, without copying them together first", async () => {
    const part: Part = { start: 10 * KIB * KIB, end: 10 * KIB * KIB + 3 * KIB * KIB, done: 0 };
    const rec = recordingWrite();
    await writeBodyToPart(bodyOf(chunks(48, 64 * KIB)), part, sink(rec.write));
    expect(rec.calls.map((c) => c.bytes)).toEqual([KIB * KIB, KIB * KIB, KIB * KIB]);
    expect(rec.calls.map((c) => c.position)).toEqual([part.start, part.start + KIB * KIB, part.start + 2 * KIB * KIB]);
    expect(part.done).toBe(3 * KIB * KIB);
    expect(rec.calls[1]!.data[0]).toBe(16);
  });

  it("keeps reading while one write is in flight, and moves part.done only when a write has returned", async () => {
    const part: Part = { start: 0, end: 4 * KIB * KIB, done: 0 };
    const rec = recordingWrite(3);
    const checked: number[] = [];
    // Batch k is chunks 16k..16k+15. While chunk 16k+14 is read, batch k-1 is still being written.
    const body = bodyOf(chunks(64, 64 * KIB), async (i) => {
      const k = Math.floor(i / 16);
      if (i % 16 !== 14 || k === 0) return;
      expect(part.done).toBe((k - 1) * KIB * KIB);
      expect(rec.releases).toHaveLength(1);
      checked.push(i);
      rec.releases.shift()!();
    });
    await writeBodyToPart(body, part, sink(rec.write));
    expect(checked).toEqual([30, 46, 62]);
    expect(rec.maxInFlight()).toBe(1);
    expect(part.done).toBe(4 * KIB * KIB);
  });

  it("stops at a lowered end (another connection took the tail)", async () => {
    const part: Part = { start: 0, end: 2 * KIB * KIB, done: 0 };
    const rec = recordingWrite();
    const body = bodyOf(chunks(32, 64 * KIB), async (i) => {
      if (i === 3) part.end = 300 * KIB;
    });
    await writeBodyToPart(body, part, sink(rec.write));
    const written = rec.calls.reduce((s, c) => s + c.bytes, 0);
    expect(written).toBe(300 * KIB);
    expect(part.done).toBe(300 * KIB);
  });

  it("writes what arrived before the body failed, then rethrows", async () => {
    const part: Part = { start: 0, end: 4 * KIB * KIB, done: 0 };
    const rec = recordingWrite();
    async function* dropping(): AsyncIterable<Buffer> {
      yield* chunks(5, 64 * KIB);
      throw new Error("socket hang up");
    }
    await expect(writeBodyToPart(dropping(), part, sink(rec.write))).rejects.toThrow("socket hang up");
    expect(part.done).toBe(5 * 64 * KIB);
  });

  it("drops gathered bytes on cancel", async () => {
    const part: Part = { start: 0, end: 4 * KIB * KIB, done: 0 };
    const rec = recordingWrite();
    async function* cancelledBody(): AsyncIterable<Buffer> {
      yield* chunks(5, 64 * KIB);
      throw new Error("aborted");
    }
    await expect(writeBodyToPart(cancelledBody(), part, sink(rec.write, () => true))).rejects.toThrow("aborted");
    expect(rec.calls).toEqual([]);
    expect(part.done).toBe(0);
  });

  it("stops writing after a failed write and reports it as a disk error", async () => {
    const part: Part = { start: 0, end: 4 * KIB * KIB, done: 0 };
    let calls = 0;
    const full = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    const write: WriteAt = async () => {
      calls++;
      throw full;
    };
    const err = await writeBodyToPart(bodyOf(chunks(64, 64 * KIB)), part, sink(write)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DOWNLOAD_NO_SPACE", cause: full });
    expect(calls).toBe(1);
    expect(part.done).toBe(0);
  });
});

describe("writeAt", () => {
  it("finishes a short pwritev from where it stopped, mid-chunk", async () => {
    const writes: { position: number; data: string }[] = [];
    const file = {
      writev: async (list: Buffer[], position: number) => {
        // Write at most 5 bytes per call.
        const data = Buffer.concat(list).subarray(0, 5);
        writes.push({ position, data: data.toString() });
        return { bytesWritten: data.length, buffers: list };
      },
    } as unknown as FileHandle;
    await writeAt(file, [Buffer.from("abc"), Buffer.from("defgh"), Buffer.from("ijklmn")], 100);
    expect(writes).toEqual([
      { position: 100, data: "abcde" },
      { position: 105, data: "fghij" },
      { position: 110, data: "klmn" },
    ]);
  });
});
