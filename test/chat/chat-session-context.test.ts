// ChatSession with a known window: rounds left out, lone long query, post-processed answers, settings, autosave hook.
import { describe, expect, it } from "vitest";
import { ChatSession, type ContextInfo, type TurnEvent } from "../../src/chat/chat-session.ts";
import { FakeBackend } from "../fakes/fake-backend.ts";

async function collect(events: AsyncIterable<TurnEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** The fake counts whitespace-separated words + 2. */
const windowed = (seqLength: number) => new FakeBackend({ state: "ready", seqLength });

describe("ChatSession context window", () => {
  it("leaves out the oldest rounds that do not fit and says how many", async () => {
    // budget = 40 - 20 = 20 tokens
    const backend = windowed(40).reply("a b c d").reply("e f g h").reply("ok");
    const session = new ChatSession(backend, { maxNewTokens: 20 });
    await collect(session.send("one two"));
    await collect(session.send("three four"));
    const contexts: ContextInfo[] = [];
    await collect(session.send("five", { onContext: (info) => contexts.push(info) }));
    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toMatchObject({ droppedRounds: 1, seqLength: 40, budget: 20 });
    expect(contexts[0]!.promptTokens).toBeLessThanOrEqual(20);
    expect(backend.turns[2]!.prompt).toBe("[Round 0]\n问：three four\n答：e f g h\n[Round 1]\n问：five\n答：");
    expect(session.lastContext).toEqual(contexts[0]);
    expect(session.history).toHaveLength(3); // the history keeps every round; only the prompt leaves some out
  });

  it("refuses a question that alone overflows, without calling generate", async () => {
    const backend = windowed(20);
    const session = new ChatSession(backend, { maxNewTokens: 10 });
    const words = Array.from({ length: 12 }, (_, i) => `w${i}`).join(" ");
    await expect(collect(session.send(words))).rejects.toMatchObject({ code: "CONTEXT_QUERY_TOO_LONG" });
    expect(backend.turns).toHaveLength(0);
    expect(session.busy).toBe(false);
  });

  it("truncates it instead under truncateLongQuery, and records what was sent", async () => {
    const backend = windowed(20).reply("short");
    const session = new ChatSession(backend, { maxNewTokens: 10, truncateLongQuery: true });
    const words = Array.from({ length: 12 }, (_, i) => `w${i}`).join(" ");
    const contexts: ContextInfo[] = [];
    await collect(session.send(words, { onContext: (c) => contexts.push(c) }));
    expect(contexts[0]?.queryTruncated).toEqual({ originalTokens: 14, keptTokens: 10 });
    expect(backend.turns[0]!.prompt).toBe("w0 w1 w2 w3 w4 w5 w6 w7 ");
    expect(session.history[0]!.query).toBe(backend.turns[0]!.prompt);
  });
});

describe("ChatSession answers and settings", () => {
  it("streams post-processed text and stores the processed answer", async () => {
    const backend = new FakeBackend().reply("  你好", ",", "世界", "! ", "[[训练", "时间]]\n");
    const session = new ChatSession(backend);
    const events = await collect(session.send("hi"));
    const text = events.flatMap((e) => (e.type === "delta" ? [e.text] : [])).join("");
    expect(text).toBe("你好，世界！ 2023年");
    expect(session.history[0]!.answer).toBe("你好，世界！ 2023年");
  });

  it("sends only the settings that were set, and /set changes the next answer", async () => {
    const backend = new FakeBackend().reply("a").reply("b");
    const session = new ChatSession(backend, { settings: { topP: 0.5 } });
    await collect(session.send("q1"));
    expect(backend.turns[0]!.options.sampling).toEqual({ topP: 0.5 });
    expect(backend.turns[0]!.options.maxNewTokens).toBeUndefined();
    session.set("temperature", "0.8");
    session.set("max_new_tokens", "512");
    session.set("seed", "42");
    session.set("greedy", "on");
    await collect(session.send("q2"));
    expect(backend.turns[1]!.options).toMatchObject({ maxNewTokens: 512, sampling: { topP: 0.5, temperature: 0.8, seed: 42, doSample: false } });
    expect(session.settings).toMatchObject({ topP: 0.5, temperature: 0.8, topK: 0, repetitionPenalty: 1 });
    expect(() => session.set("top_p", "2")).toThrow(/top_p must be/);
  });

  it("calls onRecord after each round and reports a failing save on done", async () => {
    const saved: number[] = [];
    const backend = new FakeBackend().reply("a").reply("b");
    let fail = false;
    const session = new ChatSession(backend, {
      onRecord: (history) => {
        if (fail) throw new Error("disk full");
        saved.push(history.length);
      },
    });
    await collect(session.send("q1"));
    fail = true;
    const events = await collect(session.send("q2"));
    expect(saved).toEqual([1]);
    expect(events.at(-1)).toMatchObject({ type: "done", saveError: { message: "disk full" } });
    expect(session.history).toHaveLength(2);
  });

  it("replaceHistory continues a loaded conversation", async () => {
    const backend = new FakeBackend().reply("A2");
    const session = new ChatSession(backend);
    session.replaceHistory([{ query: "Q1", answer: "A1" }]);
    await collect(session.send("Q2"));
    expect(backend.turns[0]!.prompt).toBe("[Round 0]\n问：Q1\n答：A1\n[Round 1]\n问：Q2\n答：");
  });
});
