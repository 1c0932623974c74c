// kill -9 in the middle of a download, then resume: written bytes count on the same boot, only synced ones after a reboot.
import { spawn } from "node:child_process";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PullEvent } from "../../src/download/events.ts";
import { bytesDone, planParts } from "../../src/download/part-plan.ts";
import { currentBootId, loadPartState, resumeParts, type PartState, type SavedPart } from "../../src/download/part-state.ts";
import { pullModelFiles } from "../../src/download/pull.ts";
import { makeContent, md5Hex, startFileServer, type FileServer } from "./helpers/file-server.ts";

const SIZE = 2 * 1024 * 1024;
const content = makeContent(SIZE);
/** null off Linux: written counts are then never trusted, and the tests that rely on them are skipped. */
const bootId = await currentBootId();
let server: FileServer;
let dir: string;

beforeEach(async () => {
  server = await startFileServer({ "model.bin": content });
  dir = await mkdtemp(join(tmpdir(), "glm-kill-"));
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const statePath = () => join(dir, "model.bin.partial.json");

/** Bytes a restart in this process (same boot) would skip. */
async function resumable(): Promise<number> {
  const state = await loadPartState(statePath());
  return state ? bytesDone(resumeParts(state, bootId)) : 0;
}

function spawnPull(size: number, syncDelayMs = 0) {
  const script = join(import.meta.dirname, "helpers", "pull-child.ts");
  const args = ["--import", "tsx", script, dir, server.base, String(size), String(syncDelayMs)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  return { child, exited };
}

/** Pulls in this process, fast; returns the events. */
async function pullHere(size: number): Promise<PullEvent[]> {
  const events: PullEvent[] = [];
  const files = [{ name: "model.bin", what: "t", approxBytes: size, defaultBaseUrl: server.base }];
  await pullModelFiles({ modelDir: dir, files, searchDirs: [], env: {}, connections: 4, partSize: 256 * 1024, backoffMs: 5 }, (e) => events.push(e));
  return events;
}

it("resumes after SIGKILL without fetching persisted bytes again", async () => {
  server.faults = { bytesPerSecond: 300_000 };
  const { child, exited } = spawnPull(SIZE);
  // Each progress event, look at what the child has persisted; kill it once that is 30 %.
  for await (const line of createInterface({ input: child.stdout })) {
    if ((JSON.parse(line) as PullEvent).type !== "progress") continue;
    if ((await resumable()) >= SIZE * 0.3) {
      child.kill("SIGKILL");
      break;
    }
  }
  expect(await exited).toBe("SIGKILL");
  const servedBeforeKill = server.bytesServed;
  const persisted = await resumable();
  expect(persisted).toBeGreaterThanOrEqual(SIZE * 0.3);
  // At most the bytes of the last persist interval (plus socket buffers) are lost to the kill.
  expect(servedBeforeKill - persisted).toBeLessThan(SIZE * 0.2);

  server.faults = {};
  server.bytesServed = 0;
  const events = await pullHere(SIZE);
  expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
  expect(events.find((e) => e.type === "start")).toMatchObject({ resumed_bytes: persisted });
  // The probe's one byte, then exactly the bytes that were not persisted.
  expect(server.bytesServed).toBe(1 + SIZE - persisted);
});

// Issue #4: a kill -9 at any moment loses ≤ 1 % of the bytes. Here every fdatasync takes 2 s more,
// so the disk is far behind the network (as on a fast link): the synced counts lag by seconds, the
// written ones by about one persist interval. The file arrives at 1/80 of its size per second (at
// that pace 13.4 GB would come at ~160 MB/s), and the kill comes at 10 %, from a timer of its own,
// not in step with the child's saves: ≤ 1 % lost means ≤ 0.8 s of bytes.
it.runIf(bootId !== null)("a SIGKILL at any moment loses ≤ 1 % of the file, while the disk syncs far slower than data arrives", async () => {
  const size = 32 * 1024 * 1024;
  const big = makeContent(size);
  await server.close();
  server = await startFileServer({ "model.bin": big });
  // The ETag given, so that the server does not hash 32 MiB for every request.
  const etag = `"${md5Hex(big)}"`;
  server.faults = { bytesPerSecond: 100_000, etag };
  const { child, exited } = spawnPull(size, 2000);
  createInterface({ input: child.stdout }).on("line", () => undefined);
  let servedAtKill = 0;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (server.bytesServed < size * 0.1) return;
      servedAtKill = server.bytesServed;
      child.kill("SIGKILL");
      clearInterval(poll);
      resolve();
    }, 5);
  });
  expect(await exited).toBe("SIGKILL");
  const saved = (await loadPartState(statePath()))!;
  const written = await resumable();
  const synced = saved.parts.reduce((sum, p) => sum + p.synced, 0);
  expect(synced).toBeLessThan(written);
  expect(servedAtKill - written).toBeLessThanOrEqual(size * 0.01);

  server.faults = { etag };
  server.bytesServed = 0;
  const events = await pullHere(size);
  expect(events.find((e) => e.type === "start")).toMatchObject({ resumed_bytes: written });
  expect(server.bytesServed).toBe(1 + size - written);
  expect(md5Hex(await readFile(join(dir, "model.bin")))).toBe(etag.slice(1, -1));
}, 90_000);

describe("resume rules", () => {
  /** Parts of 256 KiB; each has written 3/4 of its bytes and synced 1/4. */
  const savedParts = (): SavedPart[] =>
    planParts(SIZE, 256 * 1024).map((p) => ({ start: p.start, end: p.end, written: (3 * (p.end - p.start)) / 4, synced: (p.end - p.start) / 4 }));

  /**
   * A .partial as a reboot would leave it: the synced bytes right, the rest of the written bytes
   * lost (zeros), or, with `lost: false`, as a kill leaves it (all written bytes right).
   */
  async function writePartial(parts: readonly SavedPart[], lost: boolean): Promise<void> {
    const data = Buffer.alloc(SIZE);
    for (const p of parts) content.copy(data, p.start, p.start, p.start + (lost ? p.synced : p.written));
    await writeFile(join(dir, "model.bin.partial"), data);
  }

  const stateOf = (parts: SavedPart[], bootId: string | null): PartState => ({
    version: 2,
    boot_id: bootId,
    size: SIZE,
    etag: `"${md5Hex(content)}"`,
    url: server.base + "model.bin",
    ranges: true,
    parts,
  });

  it("resumes from written on the same boot, from synced on another or an unknown one", () => {
    const state = stateOf(savedParts(), "boot-a");
    expect(bytesDone(resumeParts(state, "boot-a"))).toBe((3 * SIZE) / 4);
    expect(bytesDone(resumeParts(state, "boot-b"))).toBe(SIZE / 4);
    expect(bytesDone(resumeParts(state, null))).toBe(SIZE / 4);
    expect(bytesDone(resumeParts({ ...state, boot_id: null }, null))).toBe(SIZE / 4);
  });

  it("after a reboot (another boot id) resumes from the synced counts and fetches the rest again", async () => {
    const parts = savedParts();
    await writePartial(parts, true);
    await writeFile(statePath(), JSON.stringify(stateOf(parts, "a-boot-before-this-one")));
    const events = await pullHere(SIZE);
    expect(events.find((e) => e.type === "start")).toMatchObject({ resumed_bytes: SIZE / 4 });
    expect(server.bytesServed).toBe(1 + SIZE - SIZE / 4);
    expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
  });

  it("resumes a version 1 state (one count per part, `done`) from that count", async () => {
    const parts = savedParts().map((p) => ({ ...p, written: p.synced }));
    await writePartial(parts, false);
    const v1 = { version: 1, size: SIZE, etag: `"${md5Hex(content)}"`, url: server.base + "model.bin", ranges: true };
    await writeFile(statePath(), JSON.stringify({ ...v1, parts: parts.map((p) => ({ start: p.start, end: p.end, done: p.synced })) }));
    expect((await loadPartState(statePath()))?.parts).toEqual(parts);
    const events = await pullHere(SIZE);
    expect(events.find((e) => e.type === "start")).toMatchObject({ resumed_bytes: SIZE / 4 });
    expect(server.bytesServed).toBe(1 + SIZE - SIZE / 4);
    expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
  });

  it.runIf(bootId !== null)("a written count that lies (bytes lost on this boot) fails the digest check and leaves no file", async () => {
    const parts = savedParts();
    await writePartial(parts, true);
    await writeFile(statePath(), JSON.stringify(stateOf(parts, bootId)));
    await expect(pullHere(SIZE)).rejects.toMatchObject({ code: "DOWNLOAD_DIGEST_MISMATCH" });
    await expect(access(join(dir, "model.bin"))).rejects.toThrow();
    await expect(access(join(dir, "model.bin.partial"))).rejects.toThrow();
  });

  it("rejects a state whose synced count is above its written one", async () => {
    const parts = savedParts().map((p) => ({ ...p, synced: p.written + 1 }));
    await writeFile(statePath(), JSON.stringify(stateOf(parts, "b")));
    expect(await loadPartState(statePath())).toBeUndefined();
  });
});
