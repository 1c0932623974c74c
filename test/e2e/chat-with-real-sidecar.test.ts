// End to end: the chat session drives the real MindSpore sidecar (MindFormers GLM, tiny model, CPU).
import { afterAll, describe, expect, it } from "vitest";
import { ChatSession, type TurnEvent } from "../../src/chat/chat-session.ts";
import { SidecarBackend } from "../../src/sidecar/sidecar-backend.ts";
import { realSidecarLaunch, removeLaunchDirs } from "./real-sidecar.ts";

// A tight heartbeat: the echo must keep answering while MindSpore imports, loads and compiles (GIL held).
const backend = new SidecarBackend(realSidecarLaunch({ heartbeatIntervalMs: 100, timeToDeadMs: 1500 }), { doSample: false });
afterAll(async () => {
  await backend.close();
  removeLaunchDirs();
});

async function turn(session: ChatSession, query: string, onDelta?: (n: number) => void, signal?: AbortSignal) {
  const deltas: string[] = [];
  let done: Extract<TurnEvent, { type: "done" }> | undefined;
  for await (const event of session.send(query, { signal })) {
    if (event.type === "delta") {
      deltas.push(event.text);
      onDelta?.(deltas.length);
    } else done = event;
  }
  return { deltas, done: done! };
}

describe("chat against the real sidecar", () => {
  it("loads, answers two turns with history, and cancels a third mid-stream", async () => {
    const statuses: string[] = [];
    backend.onStatus((s) => statuses.push(s.state));
    const session = new ChatSession(backend, { maxNewTokens: 16 });

    const first = await turn(session, "你好");
    expect(statuses).toContain("loading");
    expect(backend.status().engine).toMatch(/^mindformers 1\.3\.2 \/ mindspore 2\.7\.2$/);
    expect(backend.status().device).toBe("CPU:0");
    expect(first.deltas.length).toBeGreaterThan(3);
    expect(first.done.reason).toBe("length");
    expect(session.lastPrompt).toBe("你好");
    const answer1 = first.deltas.join("");
    expect(first.done.round).toMatchObject({ query: "你好", answer: answer1 });

    const second = await turn(session, "北京");
    expect(session.lastPrompt).toBe(`[Round 0]\n问：你好\n答：${answer1}\n[Round 1]\n问：北京\n答：`);
    expect(second.done.usage.promptTokens).toBeGreaterThan(first.done.usage.promptTokens);

    const controller = new AbortController();
    const long = new ChatSession(backend, { maxNewTokens: 200 });
    const third = await turn(long, "hello", (n) => n === 2 && controller.abort(), controller.signal);
    expect(third.done.reason).toBe("cancelled");
    expect(third.done.usage.completionTokens).toBeLessThan(200);
    expect(long.history.at(-1)).toMatchObject({ query: "hello", interrupted: true });

    const after = await turn(session, "再见");
    expect(after.done.reason).toBe("length");
    expect(session.history).toHaveLength(3);
  }, 300_000);
});

describe("a real sidecar killed mid-answer", () => {
  it("keeps the partial answer in history, reports the crash, and the next question restarts it", async () => {
    const crashy = new SidecarBackend(realSidecarLaunch(), { doSample: false });
    try {
      const session = new ChatSession(crashy, { maxNewTokens: 48 });
      await turn(session, "你好");
      const sidecar = await crashy.start();
      let error: unknown;
      try {
        await turn(session, "北京", (n) => n === 3 && process.kill(sidecar.pid!, "SIGKILL"));
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: "SIDECAR_EXITED" });
      expect(crashy.status()).toMatchObject({ state: "crashed" });
      const partial = session.history.at(-1);
      expect(partial).toMatchObject({ query: "北京", interrupted: true });
      expect(partial!.answer.length).toBeGreaterThan(0);
      const next = await turn(session, "再见");
      expect(next.done.reason).toBe("length");
      expect(session.lastPrompt).toContain(`[Round 1]\n问：北京\n答：${partial!.answer}\n[Round 2]\n问：再见\n答：`);
      expect((await crashy.start()).pid).not.toBe(sidecar.pid);
    } finally {
      await crashy.close();
    }
  }, 300_000);
});
