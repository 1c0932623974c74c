// Benchmark of `glm-chat serve`. Part 1, one backend in this process: a streamed answer through HTTP (SSE, one
// client) vs the same answer from a ChatSession directly, interleaved; prints the tokens/s ratio and the extra
// time to first token. Part 2, `glm-chat serve` as its own process: 64 clients asking in a loop for N seconds;
// prints errors, answers and the server's RSS over time.
// Usage: scripts/bench-serve [--model-dir DIR] [--engine mindformers|native] [--rounds 5] [--max-tokens 200] [--load-seconds 60] [--clients 64]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { execa } from "execa";
import type { ChatBackend } from "../src/chat/backend.ts";
import { ChatSession } from "../src/chat/chat-session.ts";
import { TokenCounter } from "../src/chat/context-budget.ts";
import { DEFAULT_GENERATION_SETTINGS } from "../src/chat/generation-settings.ts";
import { appPaths } from "../src/config/paths.ts";
import { JobRunner } from "../src/serve/chat-job.ts";
import { EngineQueue } from "../src/serve/engine-queue.ts";
import { ApiServer } from "../src/serve/http-server.ts";
import { ensurePythonEnv } from "../src/python-env/python-env.ts";
import { SidecarBackend } from "../src/sidecar/sidecar-backend.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const paths = appPaths();
const modelDir = arg("model-dir", process.env.GLM_CHAT_TINY_MODEL_DIR ?? join(paths.packageRoot, ".cache", "tiny-model"));
const engine = arg("engine", "mindformers") as "mindformers" | "native";
const ROUNDS = Number(arg("rounds", "5"));
const MAX_TOKENS = Number(arg("max-tokens", "200"));
const LOAD_S = Number(arg("load-seconds", "60"));
const CLIENTS = Number(arg("clients", "64"));
const QUERY = "你好";
const env = await ensurePythonEnv({ explicitPython: process.env.GLM_CHAT_PYTHON, venvDir: paths.venvDir, sidecarDir: paths.sidecarDir });
const scratch = mkdtempSync(join(tmpdir(), "glm-chat-bench-serve-"));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Sample {
  firstMs: number;
  tokensPerS: number;
  tokens: number;
  /** Client's first text minus the engine's first token, both in this process: what the front end adds. */
  addedFirstMs: number;
  /** Engine first-token-to-done time over the client's first-text-to-end time (1 = nothing lost on the way). */
  delivery: number;
  /** The engine's own decode speed during this answer: a front end that takes CPU from it shows here. */
  engineTokensPerS: number;
}

/** When the engine's stream (below the chat core) gave its first token and its done event, per answer. */
const engineStamps = { first: 0, done: 0 };
function timed(backend: ChatBackend): ChatBackend {
  return {
    countTokens: (text) => backend.countTokens(text),
    status: () => backend.status(),
    onStatus: (listener) => backend.onStatus(listener),
    async *generate(prompt, options) {
      engineStamps.first = 0;
      for await (const event of backend.generate(prompt, options)) {
        if (event.type === "delta") engineStamps.first ||= performance.now();
        else engineStamps.done = performance.now();
        yield event;
      }
    },
  };
}

const sample = (start: number, first: number, end: number, tokens: number): Sample => ({
  firstMs: first - start,
  tokensPerS: (tokens - 1) / ((end - first) / 1000),
  tokens,
  addedFirstMs: first - engineStamps.first,
  delivery: (engineStamps.done - engineStamps.first) / (end - first),
  engineTokensPerS: (tokens - 1) / ((engineStamps.done - engineStamps.first) / 1000),
});

async function direct(session: ChatSession): Promise<Sample> {
  session.clear();
  const start = performance.now();
  let first = 0;
  for await (const event of session.send(QUERY)) {
    if (event.type === "delta") first ||= performance.now();
    else {
      return sample(start, first, performance.now(), event.usage.completionTokens);
    }
  }
  throw new Error("no done event");
}

async function overHttp(base: string): Promise<Sample> {
  const start = performance.now();
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: QUERY }], max_tokens: MAX_TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  let first = 0;
  let tokens = 0;
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const bytes of response.body!) {
    buffered += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const data = buffered.slice(6, end); // "data: " ... "\n\n"
      buffered = buffered.slice(end + 2);
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data) as { choices: { delta: { content?: string } }[]; usage?: { completion_tokens: number } | null };
      if (chunk.choices[0]?.delta.content) first ||= performance.now();
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return sample(start, first, performance.now(), tokens);
}

async function partOne(): Promise<void> {
  const sidecar = new SidecarBackend({ python: env.python, sidecarDir: paths.sidecarDir, modelDir, engine, deviceTarget: "CPU", deviceId: 0, logDir: scratch, workDir: scratch });
  await sidecar.start();
  const backend = timed(sidecar);
  const settings = { ...DEFAULT_GENERATION_SETTINGS, maxNewTokens: MAX_TOKENS, greedy: true };
  const session = new ChatSession(backend, { settings });
  const runner = new JobRunner(backend, new TokenCounter((t) => backend.countTokens(t)), new EngineQueue(16));
  const server = new ApiServer({ runner, defaults: settings, status: () => backend.status(), startedAt: new Date(), version: "bench", modelBytes: 0 }, { log: () => {} });
  const { port } = await server.listen(0, "127.0.0.1");
  const base = `http://127.0.0.1:${port}`;
  await direct(session);
  await overHttp(base); // warm-up: compiled graphs, cached token counts
  const d: Sample[] = [];
  const h: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so neither always runs right after the other.
    if (i % 2 === 0) {
      d.push(await direct(session));
      h.push(await overHttp(base));
    } else {
      h.push(await overHttp(base));
      d.push(await direct(session));
    }
  }
  await server.close();
  await sidecar.close();
  const [dTps, hTps, dFirst, hFirst] = [median(d.map((s) => s.tokensPerS)), median(h.map((s) => s.tokensPerS)), median(d.map((s) => s.firstMs)), median(h.map((s) => s.firstMs))];
  console.log(`engine ${sidecar.status().engine ?? engine}, ${modelDir}, ${ROUNDS} interleaved rounds of ${d[0]!.tokens}/${h[0]!.tokens} tokens (median)`);
  if (process.argv.includes("--each")) for (let i = 0; i < ROUNDS; i++) console.log(`round ${i}: direct ${d[i]!.tokensPerS.toFixed(1)} tok/s ${d[i]!.firstMs.toFixed(1)} ms (+${d[i]!.addedFirstMs.toFixed(2)}), HTTP ${h[i]!.tokensPerS.toFixed(1)} tok/s ${h[i]!.firstMs.toFixed(1)} ms (+${h[i]!.addedFirstMs.toFixed(2)})`);
  console.log(`chat core directly: ${dTps.toFixed(1)} tokens/s, first token ${dFirst.toFixed(1)} ms`);
  console.log(`HTTP, streamed SSE: ${hTps.toFixed(1)} tokens/s, first token ${hFirst.toFixed(1)} ms`);
  const [dAdded, hAdded, dDelivery, hDelivery] = [median(d.map((s) => s.addedFirstMs)), median(h.map((s) => s.addedFirstMs)), median(d.map((s) => s.delivery)), median(h.map((s) => s.delivery))];
  console.log(`paired with the engine's own times (robust to a busy machine): first text after the engine's first token: direct ${dAdded.toFixed(2)} ms, HTTP ${hAdded.toFixed(2)} ms (+${(hAdded - dAdded).toFixed(2)} ms);`);
  console.log(`  stream delivery (engine stream time / client stream time): direct ${dDelivery.toFixed(4)}, HTTP ${hDelivery.toFixed(4)}, ratio ${(hDelivery / dDelivery).toFixed(4)}`);
  const [dEngine, hEngine] = [median(d.map((s) => s.engineTokensPerS)), median(h.map((s) => s.engineTokensPerS))];
  console.log(`  the engine's own speed: ${dEngine.toFixed(1)} tokens/s during direct answers, ${hEngine.toFixed(1)} during HTTP ones (ratio ${(hEngine / dEngine).toFixed(3)}: below 1, the server's CPU use slowed the engine on this machine's ${availableParallelism()} CPUs)`);
  console.log(`ratio tokens/s HTTP / direct = ${(hTps / dTps).toFixed(3)} (target >= 0.97); first token +${(hFirst - dFirst).toFixed(1)} ms (target <= +5 ms)`);
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function partTwo(): Promise<void> {
  const bin = join(paths.packageRoot, "bin", "glm-chat.js");
  const server = execa(process.execPath, [bin, "serve", "--model-dir", modelDir, "--python", env.python, "--engine", engine, "--device", "CPU", "--port", "0", "--max-queue", String(CLIENTS), "--greedy"], {
    env: { XDG_STATE_HOME: scratch, XDG_CACHE_HOME: scratch }, reject: false,
  });
  let log = "";
  server.stderr!.on("data", (b: Buffer) => (log += b.toString()));
  while (!/glm-chat: ready: /.test(log)) {
    if (server.exitCode !== null) throw new Error(`glm-chat serve exited:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)![1]!;
  const stopAt = performance.now() + LOAD_S * 1000;
  const statuses = new Map<number, number>();
  const rss: string[] = [];
  const sampler = setInterval(() => rss.push(rssMb(server.pid!).toFixed(0)), (LOAD_S * 1000) / 6);
  const startRss = rssMb(server.pid!);
  const client = async () => {
    while (performance.now() < stopAt) {
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: QUERY }], max_tokens: 8 }),
      }).catch(() => undefined);
      const status = response?.status ?? 0;
      await response?.arrayBuffer();
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  clearInterval(sampler);
  const endRss = rssMb(server.pid!);
  server.kill("SIGTERM");
  await server;
  const errors = [...statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0);
  console.log(`${CLIENTS} clients for ${LOAD_S} s: ${statuses.get(200) ?? 0} answers, ${errors} errors (${JSON.stringify(Object.fromEntries(statuses))})`);
  console.log(`server RSS (node process, the sidecar apart): ${startRss.toFixed(0)} MB at start, ${rss.join(" / ")} MB during, ${endRss.toFixed(0)} MB at the end`);
}

try {
  await partOne();
  if (LOAD_S > 0) await partTwo();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
