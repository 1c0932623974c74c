// Benchmark of the sidecar → UI token path over the real sockets (fake engine, so only the IPC is measured).
// Prints one-way latency p50/p99 at realistic spacings and back-to-back, sidecar CPU per token, frames/s,
// and the same figures for a bare pyzmq PUSH → zeromq.js PULL baseline measured in the same run.
// Usage: npx tsx scripts/bench-ipc.ts [--tokens N]   (needs GLM_CHAT_PYTHON or the managed venv)
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { execa } from "execa";
import { Pull } from "zeromq";
import { appPaths } from "../src/config/paths.ts";
import type { Envelope } from "../src/protocol/messages.ts";
import { ensurePythonEnv } from "../src/python-env/python-env.ts";
import { Sidecar } from "../src/sidecar/supervisor.ts";

const tokensArg = process.argv.indexOf("--tokens");
const BACK_TO_BACK = tokensArg > 0 ? Number(process.argv[tokensArg + 1]) : 20_000;
const paths = appPaths();
const env = await ensurePythonEnv({ explicitPython: process.env.GLM_CHAT_PYTHON, venvDir: paths.venvDir, sidecarDir: paths.sidecarDir });
const nowMs = () => performance.timeOrigin + performance.now();
const TICK_MS = 1000 / 100; // /proc/<pid>/stat counts CPU in clock ticks (USER_HZ = 100 on Linux)

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")")[1]!.trim().split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime + stime
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Run { label: string; p50: number; p99: number; cpuUsPerToken: number; framesPerS: number }

async function runSidecar(sidecar: Sidecar, tokens: number, label: string): Promise<Run> {
  const latencies: number[] = [];
  let first = 0;
  let last = 0;
  const cpuBefore = cpuMs(sidecar.pid!);
  const done = new Promise<void>((resolve) => {
    const off = sidecar.connection.onMessage((_c, m: Envelope) => {
      const at = nowMs();
      if (m.msg_type === "token") {
        latencies.push(at - m.ts * 1000);
        first ||= at;
        last = at;
      } else if (m.msg_type === "generate_reply") {
        off();
        resolve();
      }
    });
  });
  await sidecar.connection.send("shell", "generate_request", { prompt: Array(tokens).fill("w").join(" "), max_new_tokens: tokens + 1 });
  await done;
  const cpu = cpuMs(sidecar.pid!) - cpuBefore;
  latencies.sort((a, b) => a - b);
  return { label, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuUsPerToken: (cpu * 1000) / latencies.length,
    framesPerS: latencies.length / ((last - first) / 1000) };
}

let idle = 0; // sidecar CPU ms per second while it waits for requests

async function sidecarRuns(): Promise<Run[]> {
  const runs: Run[] = [];
  for (const [delayS, tokens] of SPACINGS) {
    const work = await mkdtemp(join(tmpdir(), "glm-bench-"));
    const sidecar = await Sidecar.start({ python: env.python, sidecarDir: paths.sidecarDir, modelDir: work, engine: "fake",
      deviceTarget: "CPU", deviceId: 0, logDir: work, workDir: work, extraArgs: ["--fake-token-delay", String(delayS)] }, () => {});
    await runSidecar(sidecar, 50, "warm-up");
    runs.push(await runSidecar(sidecar, tokens, `glm-chat, ${label(delayS)}`));
    if (delayS === 0) {
      const before = cpuMs(sidecar.pid!);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      idle = (cpuMs(sidecar.pid!) - before) / 3;
    }
    await sidecar.stop();
    await rm(work, { recursive: true, force: true });
  }
  return runs;
}

/** Baseline: the same texts sent by bare pyzmq PUSH (no envelope, msgpack or signature) to a zeromq.js PULL. */
async function baselineRun(tokens: number, delayS: number, label: string): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), "glm-bench-"));
  const pull = new Pull({ linger: 0 });
  await pull.bind(`ipc://${join(dir, "bare")}`);
  const script = `import sys, time, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.PUSH); s.connect(sys.argv[1]); time.sleep(0.3)
c0 = time.process_time()
delay = float(sys.argv[3])
for i in range(int(sys.argv[2])):
    if delay: time.sleep(delay)
    s.send(repr(time.time()).encode() + b" w ")
s.send(b"end"); print((time.process_time() - c0) * 1e6 / int(sys.argv[2])); time.sleep(1)  # zeromq.js misses messages still queued when the sender disconnects
s.close(linger=-1); ctx.term()`;
  const child = execa(env.python, ["-c", script, `ipc://${join(dir, "bare")}`, String(tokens), String(delayS)]);
  const latencies: number[] = [];
  let first = 0;
  let last = 0;
  for await (const [frame] of pull) {
    const at = nowMs();
    const text = frame!.toString();
    if (text === "end") break;
    latencies.push(at - Number(text.split(" ")[0]) * 1000);
    first ||= at;
    last = at;
  }
  const cpuUsPerToken = Number((await child).stdout);
  pull.close();
  await rm(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return { label, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuUsPerToken,
    framesPerS: latencies.length / ((last - first) / 1000) };
}

const SPACINGS = [[0.003, 600], [0.01, 300], [0.03, 100], [0, BACK_TO_BACK]] as const;
const label = (delayS: number) => (delayS ? `a token every ${delayS * 1000} ms` : "back-to-back");
process.stderr.write("measuring the sidecar path…\n");
const runs = await sidecarRuns();
process.stderr.write("measuring the bare pyzmq baseline…\n");
const baselines: Run[] = [];
for (const [delayS, tokens] of SPACINGS) {
  baselines.push(await baselineRun(tokens, delayS, `bare pyzmq, ${label(delayS)}`));
}
const fmt = (r: Run) => `${r.label.padEnd(36)} p50 ${(r.p50 * 1000).toFixed(0).padStart(5)} µs  p99 ${(r.p99 * 1000).toFixed(0).padStart(6)} µs  ` +
  `CPU ${r.cpuUsPerToken.toFixed(1).padStart(6)} µs/token  ${Math.round(r.framesPerS).toString().padStart(7)} frames/s`;
console.log(`bench-ipc on ${process.platform}/${process.arch}, ${(await import("node:os")).cpus().length} cores, Node ${process.version}`);
runs.forEach((run, i) => {
  const base = baselines[i]!;
  console.log(fmt(run));
  console.log(fmt(base));
  console.log(`${"".padEnd(36)} ratio p50 ${(run.p50 / base.p50).toFixed(2)}×  p99 ${(run.p99 / base.p99).toFixed(2)}×  frames/s ${(run.framesPerS / base.framesPerS).toFixed(2)}×`);
});
console.log(`sidecar idle CPU: ${idle.toFixed(1)} ms per second (${(idle / 10).toFixed(2)} % of a core)`);
console.log("targets: CPU ≤ 33 µs/token (back-to-back row: whole sidecar process, engine included), p50 ≤ 250 µs, p99 ≤ 1000 µs, ≥ 50,000 frames/s");
