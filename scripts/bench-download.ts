// Benchmark: one file over loopback, `glm-chat pull`'s downloader against curl (one stream) and aria2c -x16 -s16; prints ratios.
// Usage: npx tsx scripts/bench-download.ts [--size 2G] [--connections 16] [--dir /tmp] [--per-connection-rate 20M]
// --per-connection-rate throttles each response, like a CDN that limits every connection (loopback alone measures CPU).
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pullModelFiles } from "../src/download/pull.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as "" | "K" | "M" | "G"];
  return Math.round(Number(m[1]) * unit);
}

/** Server mode (a child process, so it never shares the event loop with the downloader under test). */
async function serve(path: string, etag: string, rate: number): Promise<void> {
  const size = (await stat(path)).size;
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const from = m ? Number(m[1]) : 0;
    const to = m && m[2] ? Math.min(size - 1, Number(m[2])) : size - 1;
    const headers: Record<string, string | number> = { "content-length": to - from + 1, etag, "accept-ranges": "bytes" };
    if (m) headers["content-range"] = `bytes ${from}-${to}/${size}`;
    res.writeHead(m ? 206 : 200, headers);
    const body = createReadStream(path, { start: from, end: to, highWaterMark: rate ? 64 * 1024 : 1024 * 1024 });
    if (!rate) return void body.pipe(res);
    void (async () => {
      const t0 = performance.now();
      let sent = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (res.destroyed) return body.destroy();
        if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        sent += chunk.length;
        const ahead = (sent / rate) * 1000 - (performance.now() - t0);
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
      res.end();
    })();
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

async function generate(path: string, size: number): Promise<string> {
  const md5 = createHash("md5");
  const file = await open(path, "w");
  const block = 16 * 1024 * 1024;
  for (let off = 0; off < size; off += block) {
    const buf = randomBytes(Math.min(block, size - off));
    md5.update(buf);
    await file.write(buf, 0, buf.length, off);
  }
  await file.close();
  return `"${md5.digest("hex")}"`;
}

function timed(cmd: string, args: string[]): number | null {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  if (r.error || r.status !== 0) return null;
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  if (process.argv[2] === "--serve") return serve(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
  const size = parseSize(arg("--size", "2G"));
  const connections = Number(arg("--connections", "16"));
  const rate = parseSize(arg("--per-connection-rate", "0"));
  const work = await mkdtemp(join(arg("--dir", tmpdir()), "glm-bench-"));
  const src = join(work, "source.bin");
  console.log(`generating ${(size / 1e9).toFixed(2)} GB of random bytes…`);
  const etag = await generate(src, size);
  const child = spawn(process.execPath, ["--import", "tsx", process.argv[1]!, "--serve", src, etag, String(rate)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
  const url = `http://127.0.0.1:${port}/glm/`;
  const out = join(work, "out");
  const gb = size / 1e9;
  const results: { name: string; s: number | null }[] = [];
  try {
    results.push({ name: "curl (1 stream)", s: timed("curl", ["-sf", "-o", join(work, "curl.bin"), `${url}source.bin`]) });
    await rm(join(work, "curl.bin"), { force: true });
    const aria = timed("aria2c", ["-q", "-x16", "-s16", "-k1M", "--file-allocation=none", "-d", work, "-o", "aria.bin", `${url}source.bin`]);
    if (aria === null) console.log("aria2c missing or failed (apt-get install -y aria2); comparing with curl only");
    results.push({ name: "aria2c -x16 -s16", s: aria });
    await rm(join(work, "aria.bin"), { force: true });
    let lastByteS = 0;
    let verifyMs = 0;
    const t0 = performance.now();
    await pullModelFiles(
      { modelDir: out, files: [{ name: "source.bin", what: "bench", approxBytes: size, defaultBaseUrl: url }], searchDirs: [], env: {}, connections },
      (e) => {
        if (e.type === "progress" && e.bytes === e.size && lastByteS === 0) lastByteS = (performance.now() - t0) / 1000;
        if (e.type === "done") verifyMs = e.verify_ms;
      },
    );
    const total = (performance.now() - t0) / 1000;
    results.push({ name: `glm-chat pull -c${connections} (to last byte)`, s: lastByteS });
    results.push({ name: `glm-chat pull -c${connections} (verified, md5)`, s: total });
    const best = Math.min(...results.slice(0, 2).map((r) => r.s ?? Infinity));
    console.log(`\n${gb.toFixed(2)} GB over loopback${rate ? `, each connection limited to ${(rate / 1e6).toFixed(0)} MB/s` : ""}`);
    for (const r of results) {
      const rate = r.s ? `${(gb / r.s).toFixed(2)} GB/s` : "n/a";
      const ratio = r.s && Number.isFinite(best) ? `  ${(best / r.s).toFixed(2)}× the faster of curl/aria2c` : "";
      console.log(`  ${r.name.padEnd(42)} ${r.s ? `${r.s.toFixed(2)} s` : "failed"}  ${rate}${ratio}`);
    }
    console.log(`  last byte → verified: ${(verifyMs / 1000).toFixed(2)} s = ${((100 * verifyMs) / 1000 / lastByteS).toFixed(1)} % of the download time (target ≤ 5 %)`);
  } finally {
    child.kill();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
