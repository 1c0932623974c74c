// kill -9 in the middle of a download, then resume: bytes already persisted are not fetched again.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { PullEvent } from "../../src/download/events.ts";
import { loadPartState } from "../../src/download/part-state.ts";
import { bytesDone } from "../../src/download/part-plan.ts";
import { pullModelFiles } from "../../src/download/pull.ts";
import { makeContent, startFileServer, type FileServer } from "./helpers/file-server.ts";

const SIZE = 2 * 1024 * 1024;
const content = makeContent(SIZE);
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

it("resumes after SIGKILL without fetching persisted bytes again", async () => {
  server.faults = { bytesPerSecond: 300_000 };
  const script = join(import.meta.dirname, "helpers", "pull-child.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script, dir, server.base, String(SIZE)], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  // Each progress event, look at what the child has persisted; kill it once that is 30 %.
  for await (const line of createInterface({ input: child.stdout })) {
    if ((JSON.parse(line) as PullEvent).type !== "progress") continue;
    const state = await loadPartState(join(dir, "model.bin.partial.json"));
    if (state && bytesDone(state.parts) >= SIZE * 0.3) {
      child.kill("SIGKILL");
      break;
    }
  }
  expect(await exited).toBe("SIGKILL");
  const servedBeforeKill = server.bytesServed;
  const saved = await loadPartState(join(dir, "model.bin.partial.json"));
  expect(saved).toBeDefined();
  const persisted = bytesDone(saved!.parts);
  expect(persisted).toBeGreaterThanOrEqual(SIZE * 0.3);
  // At most the bytes of the last persist interval (plus socket buffers) are lost to the kill.
  expect(servedBeforeKill - persisted).toBeLessThan(SIZE * 0.2);

  server.faults = {};
  server.bytesServed = 0;
  const events: PullEvent[] = [];
  await pullModelFiles(
    { modelDir: dir, files: [{ name: "model.bin", what: "t", approxBytes: SIZE, defaultBaseUrl: server.base }], searchDirs: [], env: {}, connections: 4 },
    (e) => events.push(e),
  );
  expect((await readFile(join(dir, "model.bin"))).equals(content)).toBe(true);
  expect(events.find((e) => e.type === "start")).toMatchObject({ resumed_bytes: persisted });
  // The probe's one byte, then exactly the bytes that were not persisted.
  expect(server.bytesServed).toBe(1 + SIZE - persisted);
});
