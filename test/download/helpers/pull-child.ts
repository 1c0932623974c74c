// Child process for the kill -9 test: pulls one file from a given base URL and prints every event as a JSON line.
import { pullModelFiles } from "../../../src/download/pull.ts";

const [modelDir, base, size] = process.argv.slice(2);
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
  },
  (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
);
