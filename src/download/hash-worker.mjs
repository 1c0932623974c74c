// Worker thread: hashes a file that is still being written, in order, up to the frontier the downloader posts.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";

const { path, algorithm, chunkBytes } = workerData;
const hash = createHash(algorithm);
const buffer = Buffer.allocUnsafe(chunkBytes);
let frontier = 0;
let final = false;
let wake = null;

parentPort.on("message", (msg) => {
  frontier = Math.max(frontier, msg.frontier);
  if (msg.final) final = true;
  if (wake) wake();
});

const fd = openSync(path, "r");
let hashed = 0;
let lastReport = 0;
while (true) {
  if (hashed < frontier) {
    const want = Math.min(buffer.length, frontier - hashed);
    const got = readSync(fd, buffer, 0, want, hashed);
    if (got === 0) throw new Error(`file ended at ${hashed} bytes before the frontier ${frontier}`);
    hash.update(buffer.subarray(0, got));
    hashed += got;
    const now = Date.now();
    if (now - lastReport >= 100) {
      lastReport = now;
      parentPort.postMessage({ hashed });
    }
    // Let posted frontiers in between reads.
    await new Promise((resolve) => setImmediate(resolve));
    continue;
  }
  if (final) break;
  await new Promise((resolve) => {
    wake = resolve;
  });
  wake = null;
}
closeSync(fd);
parentPort.postMessage({ hashed, digest: hash.digest("hex") });
// The message listener would keep this thread alive.
parentPort.close();
