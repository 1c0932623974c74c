// Child process for the kill -9 tests: pulls one file from a given base URL and prints every event as a JSON line.
// argv: modelDir base size [syncDelayMs]; a delay makes every fdatasync that much slower (a disk behind the network).
import type { FileHandle } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { pullModelFiles } from "../../../src/download/pull.ts";

const [modelDir, base, size, syncDelayMs] = process.argv.slice(2);
const delay = Number(syncDelayMs ?? 0);
await pullModelFiles(
  {
    modelDir: modelDir!,
    files: [{ name: "model.bin", what: "test file", approxBytes: Number(size), defaultBaseUrl: base! }],
    searchDirs: [],
    env: {},
    connections: 4,
    partSize: 256 * 1024,
    persistIntervalMs: 50,
    stallTimeoutMs: 5000,
    backoffMs: 5,
    datasync: delay > 0 ? async (file: FileHandle) => (await sleep(delay), await file.datasync()) : undefined,
  },
  (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
);
