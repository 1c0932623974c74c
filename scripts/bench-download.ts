// Benchmark: one file over loopback, `glm-chat pull`'s downloader against curl (one stream) and aria2c -x16 -s16; prints ratios.
// Usage: npx tsx scripts/bench-download.ts [--size 2G] [--connections 16] [--dir /tmp] [--per-connection-rate 20M] [--runs 1]
// --per-connection-rate throttles each response, like a CDN that limits every connection (loopback alone measures CPU).
// --runs N repeats every tool N times and keeps each one's fastest run. CPU seconds (client, and the
// server child) are printed too: on a shared 2-core box they are steadier than the wall clock.
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
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

interface Run {
  s: number | null;
  /** CPU seconds (user + system) of the client, and of the server child while it ran. */
  cpu: number | null;
  serverCpu: number;
}

/** utime + stime of a process, in seconds, from /proc (Linux). */
function procCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A command's wall time and CPU time (GNU time when installed). */
function timed(cmd: string, args: string[], work: string, serverPid: number): Run {
  const gnuTime = existsSync("/usr/bin/time");
  const cpuFile = join(work, "cpu.txt");
  const server0 = procCpu(serverPid);
  const t0 = performance.now();
  const r = gnuTime ? spawnSync("/usr/bin/time", ["-f", "%U %S", "-o", cpuFile, cmd, ...args], { stdio: "ignore" }) : spawnSync(cmd, args, { stdio: "ignore" });
  const s = (performance.now() - t0) / 1000;
  const serverCpu = procCpu(serverPid) - server0;
  if (r.error || r.status !== 0) return { s: null, cpu: null, serverCpu };
  const cpu = gnuTime ? readFileSync(cpuFile, "utf8").trim().split(/\s+/).slice(-2).map(Number).reduce((a, b) => a + b, 0) : null;
  return { s, cpu, serverCpu };
}

function fastest(runs: Run[]): Run {
  return runs.reduce((best, r) => (r.s !== null && (best.s === null || r.s < best.s) ? r : best));
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
  const runs = Math.max(1, Number(arg("--runs", "1")));
  const serverPid = child.pid!;
  const curl: Run[] = [];
  const aria: Run[] = [];
  const pulls: { toLastByte: Run; verified: Run; verifyMs: number }[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      curl.push(timed("curl", ["-sf", "-o", join(work, "curl.bin"), `${url}source.bin`], work, serverPid));
      await rm(join(work, "curl.bin"), { force: true });
      aria.push(timed("aria2c", ["-q", "-x16", "-s16", "-k1M", "--file-allocation=none", "-d", work, "-o", "aria.bin", `${url}source.bin`], work, serverPid));
      await rm(join(work, "aria.bin"), { force: true });
      await rm(out, { recursive: true, force: true });
      let lastByteS = 0;
      let lastByteCpu = 0;
      let lastByteServer = 0;
      let verifyMs = 0;
      const server0 = procCpu(serverPid);
      const cpu0 = process.cpuUsage();
      const cpuS = () => {
        const c = process.cpuUsage(cpu0);
        return (c.user + c.system) / 1e6;
      };
      const t0 = performance.now();
      await pullModelFiles(
        { modelDir: out, files: [{ name: "source.bin", what: "bench", approxBytes: size, defaultBaseUrl: url }], searchDirs: [], env: {}, connections },
        (e) => {
          if (e.type === "progress" && e.bytes === e.size && lastByteS === 0) {
            lastByteS = (performance.now() - t0) / 1000;
            lastByteCpu = cpuS();
            lastByteServer = procCpu(serverPid) - server0;
          }
          if (e.type === "done") verifyMs = e.verify_ms;
        },
      );
      pulls.push({
        toLastByte: { s: lastByteS, cpu: lastByteCpu, serverCpu: lastByteServer },
        verified: { s: (performance.now() - t0) / 1000, cpu: cpuS(), serverCpu: procCpu(serverPid) - server0 },
        verifyMs,
      });
    }
    if (aria.every((r) => r.s === null)) console.log("aria2c missing or failed (apt-get install -y aria2); comparing with curl only");
    const pull = pulls.reduce((a, b) => (b.verified.s! < a.verified.s! ? b : a));
    const results = [
      { name: "curl (1 stream)", ...fastest(curl) },
      { name: "aria2c -x16 -s16", ...fastest(aria) },
      { name: `glm-chat pull -c${connections} (to last byte)`, ...pull.toLastByte },
      { name: `glm-chat pull -c${connections} (verified, md5)`, ...pull.verified },
    ];
    const best = Math.min(...results.slice(0, 2).map((r) => r.s ?? Infinity));
    const limit = rate ? `, each connection limited to ${(rate / 1e6).toFixed(0)} MB/s` : "";
    console.log(`\n${gb.toFixed(2)} GB over loopback${limit}${runs > 1 ? `, fastest of ${runs} runs` : ""}; CPU s = client + server child`);
    for (const r of results) {
      const speed = r.s ? `${(gb / r.s).toFixed(2)} GB/s` : "n/a";
      const ratio = r.s && Number.isFinite(best) ? `  ${(best / r.s).toFixed(2)}× the faster of curl/aria2c` : "";
      const cpu = r.cpu === null ? "" : `  CPU ${r.cpu.toFixed(2)} + ${r.serverCpu.toFixed(2)} s`;
      console.log(`  ${r.name.padEnd(42)} ${r.s ? `${r.s.toFixed(2)} s` : "failed"}  ${speed}${ratio}${cpu}`);
    }
    const share = (100 * pull.verifyMs) / 1000 / pull.toLastByte.s!;
    console.log(`  last byte → verified: ${(pull.verifyMs / 1000).toFixed(2)} s = ${share.toFixed(1)} % of the download time (target ≤ 5 %)`);
  } finally {
    child.kill();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
