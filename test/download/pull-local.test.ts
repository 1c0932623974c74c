// Pull behaviour around the network: found files, verified markers, disk space, locks, mirrors, proxies, bad dirs.
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DownloadError } from "../../src/download/errors.ts";
import type { PullEvent } from "../../src/download/events.ts";
import type { ManifestEntry } from "../../src/download/manifest.ts";
import { pullModelFiles, type PullOptions } from "../../src/download/pull.ts";
import { makeContent, startFileServer, type FileServer } from "./helpers/file-server.ts";
import { startRefusingProxy } from "./helpers/refusing-proxy.ts";

const SIZE = 2 * 1024 * 1024 + 7;
const content = makeContent(SIZE);
let server: FileServer;
let root: string;
let dir: string;

function options(extra: Partial<PullOptions> = {}, base = server.base): PullOptions {
  const files: ManifestEntry[] = [{ name: "model.bin", what: "test file", approxBytes: SIZE, defaultBaseUrl: base }];
  return { modelDir: dir, files, searchDirs: [], env: {}, connections: 3, partSize: 256 * 1024, stallTimeoutMs: 300, backoffMs: 5, persistIntervalMs: 50, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DownloadError);
  return err as DownloadError;
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeEach(async () => {
  server = await startFileServer({ "model.bin": content });
  root = await mkdtemp(join(tmpdir(), "glm-pull-local-"));
  dir = join(root, "models");
});
afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

describe("find before fetch", () => {
  it("links a file found in a search dir after verifying it, without downloading", async () => {
    const elsewhere = join(root, "checkpoint_download", "glm");
    await mkdir(elsewhere, { recursive: true });
    await writeFile(join(elsewhere, "model.bin"), content);
    const events: PullEvent[] = [];
    await pullModelFiles(options({ searchDirs: [{ dir: elsewhere, deep: false }] }), (e) => events.push(e));
    expect((await lstat(join(dir, "model.bin"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, "model.bin"))).toBe(join(elsewhere, "model.bin"));
    expect(events.find((e) => e.type === "done")).toMatchObject({ action: "found", integrity: "md5" });
    expect(server.bytesServed).toBe(1);
  });

  it("copies a found file one level down a deep dir when asked, and skips a wrong one", async () => {
    const pretrain = join(root, "pretrainmodel");
    await mkdir(join(pretrain, "a"), { recursive: true });
    await mkdir(join(pretrain, "b"), { recursive: true });
    await writeFile(join(pretrain, "a", "model.bin"), Buffer.alloc(SIZE));
    await writeFile(join(pretrain, "b", "model.bin"), content);
    await pullModelFiles(options({ searchDirs: [{ dir: pretrain, deep: true }], foundFiles: "copy" }));
    expect((await lstat(join(dir, "model.bin"))).isFile()).toBe(true);
    expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
  });

  it("trusts the verified marker on the next run: no hashing, no network", async () => {
    await pullModelFiles(options());
    const served = server.bytesServed;
    const events: PullEvent[] = [];
    await pullModelFiles(options({}, "http://127.0.0.1:9/none/"), (e) => events.push(e));
    expect(server.bytesServed).toBe(served);
    expect(events.find((e) => e.type === "done")).toMatchObject({ action: "present" });
    expect(events.some((e) => e.type === "checking" || e.type === "probe_failed")).toBe(false);
  });

  it("re-verifies a file whose size changed since the marker", async () => {
    await pullModelFiles(options());
    await writeFile(join(dir, "model.bin"), content.subarray(0, 1000));
    await pullModelFiles(options());
    expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
  });
});

describe("disk and directory errors", () => {
  it("refuses to start without space, saying how much is needed and free", async () => {
    const err = await failure(pullModelFiles(options({ freeBytes: async () => 1000 })));
    expect(err.code).toBe("DOWNLOAD_NO_SPACE");
    expect(err.message).toMatch(/2\.1 MB more are needed, 1\.0 KB free/);
  });

  it("fails fast on ENOSPC during writes and keeps the partial for a resume", async () => {
    let written = 0;
    const full = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    const write: PullOptions["write"] = async (file, chunks, position) => {
      const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
      if (written + bytes > SIZE / 2) throw full;
      written += bytes;
      await file.writev(chunks as Buffer[], position);
    };
    const err = await failure(pullModelFiles(options({ write })));
    expect(err.code).toBe("DOWNLOAD_NO_SPACE");
    expect(err.cause).toBe(full);
    const left = await readdir(dir);
    expect(left).toEqual(expect.arrayContaining(["model.bin.partial", "model.bin.partial.json"]));
    expect(left).not.toContain("model.bin");
    const served = server.bytesServed;
    // One connection for the resume: no idle connection splits a part, whose bytes in flight a busy machine would
    // send twice, so what is served again is what was not written, and at most a chunk or so per part besides.
    await pullModelFiles(options({ connections: 1 }));
    expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
    expect(server.bytesServed - served).toBeLessThan(SIZE - written + 3 * 256 * 1024);
  });

  it("says the model dir is unwritable", async () => {
    await writeFile(join(root, "a-file"), "x");
    const err = await failure(pullModelFiles({ ...options(), modelDir: join(root, "a-file", "models") }));
    expect(err.code).toBe("DOWNLOAD_UNWRITABLE");
    expect(err.message).toContain("a-file");
  });

  it("refuses while another live process holds the lock, and takes over a stale one", async () => {
    await mkdir(dir, { recursive: true });
    const { hostname } = await import("node:os");
    await writeFile(join(dir, "model.bin.lock"), JSON.stringify({ pid: process.ppid, host: hostname() }));
    const err = await failure(pullModelFiles(options()));
    expect(err.code).toBe("DOWNLOAD_LOCKED");
    await writeFile(join(dir, "model.bin.lock"), JSON.stringify({ pid: 2 ** 22 + 17, host: hostname() }));
    await pullModelFiles(options());
    expect((await stat(join(dir, "model.bin"))).size).toBe(SIZE);
  });

  it("leaves no folder behind when the download is declined or no source answers", async () => {
    const nested = join(root, "typo", "glm-6b");
    const declined = await failure(pullModelFiles({ ...options(), modelDir: nested, confirm: async () => false }));
    expect(declined.code).toBe("DOWNLOAD_CANCELLED");
    expect(await readdir(root)).toEqual([]);
    const port = await closedPort();
    await failure(pullModelFiles({ ...options({}, `http://127.0.0.1:${port}/x/`), modelDir: nested }));
    expect(await readdir(root)).toEqual([]);
  });

  it("cancels on abort, keeping the partial", async () => {
    const ac = new AbortController();
    server.faults = { bytesPerSecond: 2_000_000 };
    const err = await failure(
      pullModelFiles(options({ signal: ac.signal }), (e) => {
        if (e.type === "progress" && e.bytes > 0) ac.abort();
      }),
    );
    expect(err.code).toBe("DOWNLOAD_CANCELLED");
    expect(await readdir(dir)).toEqual(expect.arrayContaining(["model.bin.partial", "model.bin.partial.json"]));
  });
});

describe("mirrors and proxies", () => {
  it("rejects a mirror that is not a URL", async () => {
    const err = await failure(pullModelFiles(options({ mirrors: ["not a url"] })));
    expect(err.code).toBe("DOWNLOAD_BAD_MIRROR");
  });

  it("falls back from an unreachable mirror and a 404 mirror to the next source", async () => {
    const port = await closedPort();
    const events: PullEvent[] = [];
    const mirrors = [`http://127.0.0.1:${port}/glm/`, `${server.base}missing/`];
    await pullModelFiles(options({ mirrors }), (e) => events.push(e));
    expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
    const failed = events.filter((e) => e.type === "probe_failed");
    expect(failed.map((e) => e.type === "probe_failed" && e.code)).toEqual(["DOWNLOAD_NETWORK", "DOWNLOAD_HTTP"]);
  });

  it("names every source when none answers", async () => {
    const port = await closedPort();
    const err = await failure(pullModelFiles(options({ mirrors: [`http://127.0.0.1:${port}/x/`] }, `${server.base}nope/`)));
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain("404");
  });

  it("reports a proxy that refuses", async () => {
    const proxy = await startRefusingProxy();
    try {
      const env = { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url };
      const err = await failure(pullModelFiles(options({ env })));
      expect(err.code).toMatch(/DOWNLOAD_PROXY|DOWNLOAD_HTTP/);
      expect(err.message).toMatch(/403/);
      expect(proxy.hits).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });

  it("reports a proxy on a closed port, and NO_PROXY bypasses it", async () => {
    const proxy = `http://127.0.0.1:${await closedPort()}`;
    const err = await failure(pullModelFiles(options({ env: { HTTP_PROXY: proxy } })));
    expect(err.code).toMatch(/DOWNLOAD_PROXY|DOWNLOAD_NETWORK/);
    await pullModelFiles(options({ env: { HTTP_PROXY: proxy, NO_PROXY: "127.0.0.1" } }));
    expect((await stat(join(dir, "model.bin"))).size).toBe(SIZE);
  });
});
