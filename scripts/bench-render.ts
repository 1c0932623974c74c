// Benchmark of the chat screen under streaming: the real <App> in Ink with a 100-turn transcript, fed a
// recorded-style Markdown answer at 30, 100 and 300 tokens/s. Prints ms of render work per frame, the
// frame-cost ratio at a 10,000- vs a 1,000-character live answer, full-screen clears, and Node CPU %.
// Usage: NODE_ENV=production npx tsx scripts/bench-render.ts (production React, as bin/glm-chat.js runs it) [--seconds N] [--rates 30,100,300] [--profile DIR]
// (--profile writes a .cpuprofile of each measured window to DIR, for Chrome DevTools or speedscope)   (targets: ≤ 8 ms/frame, ratio ≤ 1.5, 0 clears, ≤ 30 % CPU)
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import type { BackendStatus, ChatBackend, GenerateEvent, GenerateOptions } from "../src/chat/backend.ts";
import type { ChatRound } from "../src/chat/chat-session.ts";

delete process.env.CI; // Ink writes plain frames in CI; measure the terminal path
const { render } = await import("ink");
const { createElement } = await import("react");
const { App } = await import("../src/ui/App.tsx");
const { ChatSession } = await import("../src/chat/chat-session.ts");

const secondsArg = process.argv.indexOf("--seconds");
const SECONDS_PER_WINDOW = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 4;
const ratesArg = process.argv.indexOf("--rates");
const profileArg = process.argv.indexOf("--profile");
const PROFILE_DIR = profileArg > 0 ? process.argv[profileArg + 1] : undefined;
const profiler = PROFILE_DIR ? new Session() : undefined;
profiler?.connect();
await profiler?.post("Profiler.enable");
const RATES = ratesArg > 0 ? process.argv[ratesArg + 1]!.split(",").map(Number) : [30, 100, 300];

/** A ChatGLM-style answer: Chinese prose, lists, code and a table, in 1–3 character tokens. */
function recordedTokens(chars: number): string[] {
  const blocks = [
    "这是一个关于分布式训练的回答，我们先看整体思路，再看代码。MindSpore 支持数据并行和模型并行。\n\n",
    "1. 准备数据集并切分\n2. 初始化通信 `init()`\n3. 设置并行模式\n\n",
    "```python\nimport mindspore as ms\nms.set_context(mode=ms.GRAPH_MODE)\nfor step in range(10):\n    loss = train_step(x, y)\n```\n\n",
    "| 设备 | 速度 |\n|---|---|\n| Ascend 910 | 快 |\n| CPU | 慢 👋 |\n\n",
  ];
  let text = "";
  for (let i = 0; text.length < chars; i++) text += blocks[i % blocks.length];
  const tokens: string[] = [];
  for (let i = 0, n = 1; i < text.length; i += n, n = (n % 3) + 1) tokens.push(text.slice(i, i + n));
  return tokens;
}

/** Hands out the tokens at `rate` per second; `fastForwardTo` characters are sent at once in 500-char chunks. */
class PacedBackend implements ChatBackend {
  rate = 100;
  fastForward: [number, number] = [0, 0];
  /** Told once the answer reaches `lo` characters, and once it reaches `hi` or `maxMs` passed after that. */
  window: { lo: number; hi: number; maxMs: number; onStart(): void; onEnd(): void } | undefined;
  status(): BackendStatus {
    return { state: "ready", device: "CPU", engine: "bench" };
  }
  onStatus(): () => void {
    return () => {};
  }
  async countTokens(text: string): Promise<number> {
    return Math.ceil(text.length / 2);
  }
  async *generate(_prompt: string, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    const tokens = recordedTokens(11_000);
    let paceStart = performance.now();
    let sent = 0;
    let paceBase = 0;
    let chars = 0;
    while (sent < tokens.length && !options.signal?.aborted) {
      const [from, to] = this.fastForward;
      if (chars >= from && chars < to) {
        while (sent < tokens.length && chars < to) {
          const chunk = tokens.slice(sent, sent + 250).join("");
          sent += 250;
          chars += chunk.length;
          yield { type: "delta", text: chunk };
          await new Promise((resolve) => setImmediate(resolve));
        }
        paceStart = performance.now();
        paceBase = sent;
        continue;
      }
      const due = paceBase + Math.floor(((performance.now() - paceStart) / 1000) * this.rate);
      while (sent < Math.min(due, tokens.length)) {
        chars += tokens[sent]!.length;
        yield { type: "delta", text: tokens[sent++]! };
      }
      this.#checkWindow(chars);
      await new Promise((resolve) => setTimeout(resolve, 1)); // the pace of the stream, not a wait for a result
    }
    this.#checkWindow(Infinity);
    yield { type: "done", reason: "length", usage: { promptTokens: 10, completionTokens: sent }, timings: { firstTokenMs: 1, totalMs: 1 } };
  }

  #started = 0;
  #checkWindow(chars: number): void {
    const w = this.window;
    if (!w) return;
    if (!this.#started && chars >= w.lo) {
      this.#started = performance.now();
      w.onStart();
    } else if (this.#started && (chars >= w.hi || performance.now() - this.#started > w.maxMs)) {
      this.window = undefined;
      this.#started = 0;
      w.onEnd();
    }
  }
}

class FakeStdin extends EventEmitter {
  #queue: string[] = [];
  /** Types `data` as a terminal would deliver it. */
  type(data: string) {
    this.#queue.push(data);
    this.emit("readable");
  }
  isTTY = true;
  setEncoding() {}
  setRawMode() {}
  ref() {}
  unref() {}
  read() {
    return this.#queue.shift() ?? null;
  }
}

const writes = { bytes: 0, clears: 0 };
const stdout = Object.assign(
  new Writable({
    write(chunk, _encoding, callback) {
      const text = String(chunk);
      writes.bytes += text.length;
      writes.clears += text.split("\u001b[2J").length - 1;
      callback();
    },
  }),
  { isTTY: true, columns: 100, rows: 40 },
);

const history: ChatRound[] = Array.from({ length: 100 }, (_, i) => ({ query: `问题 ${i}`, answer: recordedTokens(600).join("") }));
const backend = new PacedBackend();
const session = new ChatSession(backend);
session.replaceHistory(history);
const frames: number[] = [];
const stdin = new FakeStdin();
const app = render(createElement(App, { session, backend, onExit: () => {}, modelLabel: "bench" }), {
  stdout: stdout as unknown as NodeJS.WriteStream,
  stdin: stdin as unknown as NodeJS.ReadStream,
  exitOnCtrlC: false,
  patchConsole: false,
  onRender: ({ renderTime }) => frames.push(renderTime),
});

// The session frees itself a moment before the screen takes the turn's end; give the App that moment.
const idle = async () => {
  while (session.busy) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 200));
};

/** Asks through the prompt; measures the frames while the live answer is in [lo, hi) characters, then Ctrl+C. */
async function measure(rate: number, lo: number, hi: number) {
  backend.rate = rate;
  backend.fastForward = [0, lo - 200];
  const result = await new Promise<{ ms: number; cpuPct: number; frames: number; renderMs: number; clears: number }>((resolve) => {
    let cpu = process.cpuUsage();
    let wallStart = 0;
    backend.window = {
      lo,
      hi,
      maxMs: SECONDS_PER_WINDOW * 1000,
      onStart() {
        void profiler?.post("Profiler.start");
        cpu = process.cpuUsage();
        wallStart = performance.now();
        frames.length = 0;
        writes.clears = 0;
      },
      onEnd() {
        const used = process.cpuUsage(cpu);
        void profiler?.post("Profiler.stop").then(({ profile }) => writeFileSync(`${PROFILE_DIR}/render-${rate}-${lo}.cpuprofile`, JSON.stringify(profile)));
        const cpuMs = (used.user + used.system) / 1000;
        const n = Math.max(1, frames.length);
        resolve({ ms: cpuMs / n, cpuPct: (100 * cpuMs) / (performance.now() - wallStart), frames: frames.length, renderMs: frames.reduce((a, b) => a + b, 0) / n, clears: writes.clears });
      },
    };
    stdin.type(`bench ${rate} ${lo}`);
    stdin.type("\r");
  });
  stdin.type("\u0003");
  await idle();
  return result;
}

// Each answer is stopped with Ctrl+C once measured.
console.log(`100-turn transcript, ${stdout.columns}×${stdout.rows} terminal; frame = one Ink render; React ${process.env.NODE_ENV === "production" ? "production" : "development (set NODE_ENV=production to measure what glm-chat runs)"} build`);
console.log("rate      live chars   frames  ms/frame (all JS)  Ink render ms  CPU %   full clears");
for (const rate of RATES) {
  const small = await measure(rate, 1_000, 2_000);
  const large = await measure(rate, 10_000, 11_000);
  for (const [label, r] of [["1k", small], ["10k", large]] as const) {
    console.log(`${String(rate).padStart(3)} tok/s  ${label.padEnd(11)}  ${String(r.frames).padStart(6)}  ${r.ms.toFixed(2).padStart(17)}  ${r.renderMs.toFixed(2).padStart(13)}  ${r.cpuPct.toFixed(1).padStart(5)}  ${String(r.clears).padStart(11)}`);
  }
  console.log(`          ratio 10k/1k ms per frame: ${(large.ms / small.ms).toFixed(2)}`);
}
app.unmount();
process.exit(0);
