// The server's pure parts: messages to ChatGLM rounds, stop strings on streamed text, the engine queue.
import { describe, expect, it } from "vitest";
import { conversationOf } from "../../src/serve/chat-job.ts";
import { EngineQueue, QueueFullError, QueueLeftError } from "../../src/serve/engine-queue.ts";
import { StopMatcher } from "../../src/serve/stop-matcher.ts";
import { settingsFor } from "../../src/serve/request-settings.ts";
import { DEFAULT_GENERATION_SETTINGS } from "../../src/chat/generation-settings.ts";

describe("conversationOf", () => {
  it("pairs user/assistant turns into rounds, the last user message is the query, system text kept apart", () => {
    expect(conversationOf([
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
      { role: "user", content: "weather?" },
      { role: "user", content: "in Beijing" },
    ])).toEqual({ rounds: [{ query: "hi", answer: "hello" }], query: "weather?\nin Beijing", system: "Be brief." });
    expect(conversationOf([{ role: "user", content: "q" }, { role: "developer", content: "s1" }, { role: "system", content: "s2" }])).toEqual({ rounds: [], query: "q", system: "s1\ns2" });
    expect(conversationOf([{ role: "assistant", content: "greeting" }, { role: "user", content: "q" }])).toEqual({ rounds: [{ query: "", answer: "greeting" }], query: "q" });
  });

  it("refuses a conversation that does not end with the user's message", () => {
    expect(() => conversationOf([{ role: "user", content: "q" }, { role: "assistant", content: "a" }])).toThrow(/last message must be the user's/);
    expect(() => conversationOf([{ role: "system", content: "s" }])).toThrow(/last message must be the user's/);
  });
});

describe("StopMatcher", () => {
  it("holds back a possible start of a stop string and cuts at the first match, across pieces", () => {
    const m = new StopMatcher(["o w", "###"]);
    expect(m.push("Hel")).toEqual({ text: "Hel", stopped: false });
    expect(m.push("lo")).toEqual({ text: "l", stopped: false }); // "lo" may start "o w"
    expect(m.push(" wor")).toEqual({ text: "", stopped: true }); // "Hell" in all
    expect(m.push("more")).toEqual({ text: "", stopped: true });
    expect(m.flush()).toBe("");
  });

  it("gives back what it held when the answer ends without a stop string", () => {
    const m = new StopMatcher(["##"]);
    expect(m.push("a#")).toEqual({ text: "a", stopped: false });
    expect(m.flush()).toBe("#");
    expect(new StopMatcher([]).push("x")).toEqual({ text: "x", stopped: false });
  });
});

describe("EngineQueue", () => {
  it("serves one at a time in arrival order, refuses past maxWaiting, and lets a waiter leave", async () => {
    const q = new EngineQueue(2);
    const order: string[] = [];
    const releaseA = await q.acquire();
    const leaving = new AbortController();
    const b = q.acquire().then((r) => (order.push("b"), r));
    const c = q.acquire(leaving.signal);
    await expect(q.acquire()).rejects.toBeInstanceOf(QueueFullError);
    leaving.abort();
    await expect(c).rejects.toBeInstanceOf(QueueLeftError);
    expect(q.waiting).toBe(1);
    const d = q.acquire().then((r) => (order.push("d"), r));
    releaseA();
    releaseA(); // twice is harmless
    (await b)();
    (await d)();
    expect(order).toEqual(["b", "d"]);
    expect(q.running).toBe(false);
  });
});

describe("settingsFor", () => {
  it("takes the request's values over the defaults; temperature 0 means greedy", () => {
    const s = settingsFor(DEFAULT_GENERATION_SETTINGS, { maxTokens: 7, temperature: 0, seed: 3, topK: 5 });
    expect(s).toMatchObject({ maxNewTokens: 7, greedy: true, seed: 3, topK: 5, temperature: 0.95 });
    expect(settingsFor({ ...DEFAULT_GENERATION_SETTINGS, greedy: true }, { temperature: 0.5 })).toMatchObject({ greedy: false, temperature: 0.5 });
  });
});
