// The downloader against a loopback server that drops, stalls, ignores Range, fails, lies about digests and crawls.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DownloadError } from "../../src/download/errors.ts";
import type { PullEvent } from "../../src/download/events.ts";
import type { ManifestEntry } from "../../src/download/manifest.ts";
import { pullModelFiles, type PullOptions } from "../../src/download/pull.ts";
import { makeContent, startFileServer, type FileServer } from "./helpers/file-server.ts";

const SIZE = 3 * 1024 * 1024 + 12345;
const content = makeContent(SIZE);
let server: FileServer;
let dir: string;

function entry(base: string): ManifestEntry {
  return { name: "model.bin", what: "test file", approxBytes: SIZE, defaultBaseUrl: base };
}

function options(extra: Partial<PullOptions> = {}): PullOptions {
  return {
    modelDir: dir,
    files: [entry(server.base)],
    searchDirs: [],
    env: {},
    connections: 4,
    partSize: 256 * 1024,
    // Generous, so a busy machine's pauses are not taken for stalls; the stall tests set their own.
    stallTimeoutMs: 5_000,
    backoffMs: 5,
    persistIntervalMs: 50,
    ...extra,
  };
}

async function pull(extra: Partial<PullOptions> = {}): Promise<PullEvent[]> {
  const events: PullEvent[] = [];
  await pullModelFiles(options(extra), (e) => events.push(e));
  return events;
}

async function expectVerified(): Promise<void> {
  const got = await readFile(join(dir, "model.bin"));
  expect(got.equals(content)).toBe(true);
  const left = await readdir(dir);
  expect(left.filter((f) => f.includes("partial") || f.endsWith(".lock"))).toEqual([]);
}

async function expectNothingComplete(): Promise<void> {
  const left = await readdir(dir);
  expect(left).not.toContain("model.bin");
  expect(left.filter((f) => f.includes("verified"))).toEqual([]);
}

beforeEach(async () => {
  server = await startFileServer({ "model.bin": content });
  dir = await mkdtemp(join(tmpdir(), "glm-pull-"));
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("pullModelFiles against a faulty server", () => {
  it("downloads in parallel parts and verifies the ETag MD5", async () => {
    const events = await pull();
    await expectVerified();
    const done = events.find((e) => e.type === "done");
    expect(done).toMatchObject({ integrity: "md5", digest: createHash("md5").update(content).digest("hex") });
    expect(server.requests.filter((r) => r.status === 206).length).toBeGreaterThan(4);
    // Not an exact count: when an idle connection splits a busy part, the bytes in flight past the split are sent
    // twice, and how many there are depends on the machine's load.
    expect(server.bytesServed).toBeGreaterThanOrEqual(SIZE);
  });

  it("resumes parts after the connection drops mid-body", async () => {
    server.faults = { dropAfterBytes: 100_000, dropTimes: 3 };
    // One connection: no idle connection splits a part, so a request that starts inside a part is a resume.
    const events = await pull({ connections: 1 });
    await expectVerified();
    // Each of the 3 drops costs at most one attempt of the budget (6); how they interleave depends on the load.
    const retries = events.filter((e) => e.type === "retry").length;
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(retries).toBeLessThanOrEqual(3);
    // Dropped parts resume where they stopped: some request asks for a range that starts inside a part.
    const partSize = 256 * 1024;
    const starts = server.requests.map((r) => Number(/^bytes=(\d+)-/.exec(r.range ?? "")?.[1] ?? 0));
    expect(starts.some((at) => at % partSize !== 0)).toBe(true);
  });

  it("restarts from zero, as one stream, when the server ignores Range", async () => {
    server.faults = { ignoreRange: true };
    const events = await pull();
    await expectVerified();
    expect(events.some((e) => e.type === "start")).toBe(true);
    expect(server.requests.every((r) => r.status === 200)).toBe(true);
  });

  it("restarts safely when Range is ignored only after the probe", async () => {
    const events: PullEvent[] = [];
    const run = pullModelFiles(options(), (e) => {
      events.push(e);
      if (e.type === "plan") server.faults.ignoreRange = true;
    });
    await run;
    await expectVerified();
    expect(events.some((e) => e.type === "restart")).toBe(true);
  });

  it("retries a part that stalls after the headers without spending an attempt", async () => {
    server.faults = { stallTimes: 2 };
    const events = await pull({ maxAttempts: 1, stallTimeoutMs: 200 });
    await expectVerified();
    // At least the stalled request; a busy machine may add pauses of its own, never a spent attempt.
    expect(events.filter((e) => e.type === "stall").length).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.type === "retry")).toEqual([]);
  });

  it("gives up with DOWNLOAD_STALLED when the server never sends a byte", async () => {
    server.faults = { stallTimes: Infinity };
    const err = await pull({ maxStalls: 2, stallTimeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).code).toBe("DOWNLOAD_STALLED");
    await expectNothingComplete();
  });

  it("retries 5xx answers with backoff, then succeeds", async () => {
    server.faults = { errorTimes: 3 };
    await pull();
    await expectVerified();
  });

  it("fails with DOWNLOAD_HTTP when 5xx never stops, keeping nothing complete", async () => {
    server.faults = { errorTimes: Infinity };
    const err = (await pull({ maxAttempts: 3 }).catch((e: unknown) => e)) as DownloadError;
    expect(err.code).toBe("DOWNLOAD_HTTP");
    expect(err.message).toContain("503");
    await expectNothingComplete();
  });

  it("rejects bytes that do not match the ETag, naming the file and the mirror", async () => {
    server.faults = { etag: `"${"0".repeat(32)}"` };
    const err = (await pull().catch((e: unknown) => e)) as DownloadError;
    expect(err.code).toBe("DOWNLOAD_DIGEST_MISMATCH");
    expect(err.message).toContain("model.bin");
    expect(err.message).toContain(server.base);
    await expectNothingComplete();
    expect(await readdir(dir)).toEqual([]);
  });

  it("catches corrupt bytes on resumed parts", async () => {
    server.faults = { corruptRanged: true };
    const err = (await pull().catch((e: unknown) => e)) as DownloadError;
    expect(err.code).toBe("DOWNLOAD_DIGEST_MISMATCH");
    await expectNothingComplete();
  });

  it("checks a --sha256 pin over the server's ETag", async () => {
    const good = createHash("sha256").update(content).digest("hex");
    const events = await pull({ sha256: { "model.bin": good } });
    await expectVerified();
    expect(events.find((e) => e.type === "done")).toMatchObject({ integrity: "sha256", digest: good });
    await rm(join(dir, "model.bin"));
    await rm(join(dir, ".model.bin.verified.json"));
    const err = (await pull({ sha256: { "model.bin": "ab".repeat(32) } }).catch((e: unknown) => e)) as DownloadError;
    expect(err.code).toBe("DOWNLOAD_DIGEST_MISMATCH");
  });

  describe("falls back to size only, and says why, when the ETag is not a plain MD5", () => {
    const md5 = createHash("md5").update(content).digest("hex");
    it.each([
      ["a multipart upload's", `"${md5}-3"`, /multipart upload/],
      ["a weak", `W/"${md5}"`, /weak/],
      ["an nginx-style", '"5f8a1c2e-3400000"', /not a plain MD5/],
      ["no", null, /no ETag/],
    ])("%s ETag", async (_name, etag, why) => {
      server.faults = { etag };
      const events = await pull();
      await expectVerified();
      const start = events.find((e) => e.type === "start");
      const done = events.find((e) => e.type === "done");
      expect(start).toMatchObject({ integrity: "size", integrity_note: expect.stringMatching(why) });
      expect(done).toMatchObject({ integrity: "size", integrity_note: expect.stringMatching(why), digest: null });
      expect(events.find((e) => e.type === "plan")).toMatchObject({ plan: { files: [{ integrity: "size", integrity_note: expect.stringMatching(why) }] } });
    });

    it("a single-part upload's ETag is checked as MD5, with no note", async () => {
      server.faults = { etag: `"${md5.toUpperCase()}"` };
      const events = await pull();
      await expectVerified();
      expect(events.find((e) => e.type === "done")).toMatchObject({ integrity: "md5", integrity_note: null, digest: md5 });
    });
  });

  it("completes from a very slow server", async () => {
    const small = makeContent(40_000);
    const slow = await startFileServer({ "model.bin": small });
    slow.faults = { bytesPerSecond: 200_000 };
    try {
      await pullModelFiles({ ...options(), files: [entry(slow.base)], partSize: 16 * 1024 });
      expect((await readFile(join(dir, "model.bin"))).equals(small)).toBe(true);
    } finally {
      await slow.close();
    }
  });
});
