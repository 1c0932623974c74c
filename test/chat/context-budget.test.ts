// truncateHistoryToBudget at exact boundaries, with additive and non-additive token counters.
import { describe, expect, it } from "vitest";
import { ContextBudgetError, exceedsByLength, MAX_CHARS_PER_TOKEN, promptBudget, TokenCounter, truncateHistoryToBudget } from "../../src/chat/context-budget.ts";
import { buildChatGlmPrompt, type ChatRound } from "../../src/chat/prompt.ts";

/** One token per code point plus [gMASK] <sop>: counts of parts add up exactly. */
const charCount = async (text: string) => Array.from(text).length + 2;

function counting(count: (text: string) => Promise<number>) {
  const calls: string[] = [];
  const counter = new TokenCounter(async (text) => {
    calls.push(text);
    return count(text);
  });
  return { counter, calls };
}

const history: ChatRound[] = [
  { query: "q0", answer: "答案零" },
  { query: "第一个问题", answer: "a1" },
  { query: "q2", answer: "answer two" },
];
const query = "现在呢？";
const tokens = (rounds: ChatRound[], q = query) => Array.from(buildChatGlmPrompt(rounds, q)).length + 2;

describe("promptBudget", () => {
  it("is seq_length minus max_new_tokens, the reserve capped at half the window", () => {
    expect(promptBudget(512, 256)).toBe(256);
    expect(promptBudget(512, 100)).toBe(412);
    expect(promptBudget(256, 256)).toBe(128);
    expect(promptBudget(256, 0)).toBe(255);
  });
});

describe("truncateHistoryToBudget", () => {
  it("keeps every round when the whole prompt is exactly the budget", async () => {
    const budget = tokens(history);
    const plan = await truncateHistoryToBudget(history, query, 1000, budget, counting(charCount).counter);
    expect(plan).toMatchObject({ droppedRounds: 0, promptTokens: budget, rounds: history });
    expect(plan.prompt).toBe(buildChatGlmPrompt(history, query));
  });

  it("drops the oldest round, renumbering from 0, one token under that", async () => {
    const budget = tokens(history) - 1;
    const plan = await truncateHistoryToBudget(history, query, 1000, budget, counting(charCount).counter);
    expect(plan.droppedRounds).toBe(1);
    expect(plan.prompt).toBe("[Round 0]\n问：第一个问题\n答：a1\n[Round 1]\n问：q2\n答：answer two\n[Round 2]\n问：现在呢？\n答：");
    expect(plan.promptTokens).toBe(tokens(history.slice(1)));
  });

  it("drops whole rounds at each exact boundary", async () => {
    for (let keep = 3; keep >= 0; keep--) {
      const rounds = history.slice(3 - keep);
      const exact = tokens(rounds);
      const atBoundary = await truncateHistoryToBudget(history, query, 1000, exact, counting(charCount).counter);
      expect(atBoundary.droppedRounds).toBe(3 - keep);
      expect(atBoundary.promptTokens).toBe(exact);
    }
  });

  it("sends the bare query when no round fits, and the query alone may fill the budget exactly", async () => {
    const budget = Array.from(query).length + 2;
    const plan = await truncateHistoryToBudget(history, query, 1000, budget, counting(charCount).counter);
    expect(plan).toMatchObject({ prompt: query, promptTokens: budget, droppedRounds: 3, rounds: [] });
  });

  it("refuses a query that alone is one token over, with a clear coded error", async () => {
    const budget = Array.from(query).length + 1;
    const attempt = truncateHistoryToBudget(history, query, 1000, budget, counting(charCount).counter);
    await expect(attempt).rejects.toBeInstanceOf(ContextBudgetError);
    await expect(attempt).rejects.toMatchObject({ code: "CONTEXT_QUERY_TOO_LONG", message: expect.stringMatching(/alone is 6 tokens; at most 5 fit/) });
  });

  it("keeps the start of a long query under --truncate-long-query, whole code points only", async () => {
    const long = "😀一二三四五六七八九十";
    const plan = await truncateHistoryToBudget(history, long, 1000, 7, counting(charCount).counter, { truncateLongQuery: true });
    expect(plan).toMatchObject({ prompt: "😀一二三四", query: "😀一二三四", promptTokens: 7, droppedRounds: 3 });
    expect(plan.queryTruncated).toEqual({ originalTokens: 13, keptTokens: 7 });
  });

  it("says when the answer's reserve leaves no room at all", async () => {
    await expect(truncateHistoryToBudget([], "q", 256, 2, counting(charCount).counter)).rejects.toMatchObject({ code: "CONTEXT_NO_ROOM" });
  });

  it("never goes over budget when a whole prompt counts more than its parts", async () => {
    // Each "[Round" after the first costs one token more in context than alone.
    const greedy = async (text: string) => (await charCount(text)) + Math.max(0, text.split("[Round").length - 2);
    for (let budget = 8; budget < tokens(history) + 5; budget++) {
      const plan = await truncateHistoryToBudget(history, query, 1000, budget, counting(greedy).counter);
      expect(plan.promptTokens).toBe(await greedy(plan.prompt));
      expect(plan.promptTokens).toBeLessThanOrEqual(budget);
      const oneMore = history.slice(Math.max(0, plan.droppedRounds - 1));
      if (plan.droppedRounds > 0) expect(await greedy(buildChatGlmPrompt(oneMore, query))).toBeGreaterThan(budget);
    }
  });

  it("keeps the most rounds that fit when a whole prompt counts less than its parts", async () => {
    const thrifty = async (text: string) => (await charCount(text)) - Math.max(0, text.split("[Round").length - 2) * 3;
    for (let budget = 8; budget < tokens(history) + 5; budget++) {
      const plan = await truncateHistoryToBudget(history, query, 1000, budget, counting(thrifty).counter);
      expect(plan.promptTokens).toBeLessThanOrEqual(budget);
      if (plan.droppedRounds > 0) {
        expect(await thrifty(buildChatGlmPrompt(history.slice(plan.droppedRounds - 1), query))).toBeGreaterThan(budget);
      }
    }
  });

  it("estimates exactly with a SentencePiece-like counter, so each turn counts one whole prompt", async () => {
    // A leading "▁" piece per separately counted text, as ChatGLM's tokenizer does (measured: 1 per round).
    const piece = async (text: string) => (text === "" ? 2 : Array.from(text).length + 3);
    for (let budget = 12; budget < tokens(history) + 5; budget++) {
      const { counter, calls } = counting(piece);
      const plan = await truncateHistoryToBudget(history, query, 1000, budget, counter);
      const wholePrompts = calls.filter((text) => text.startsWith("[Round 0]") && text.endsWith("答："));
      expect(plan.promptTokens).toBeLessThanOrEqual(budget);
      expect(wholePrompts.length).toBeLessThanOrEqual(plan.droppedRounds > 0 ? 2 : 1);
    }
  });

  it("counts each round's text once across turns", async () => {
    const { counter, calls } = counting(charCount);
    await truncateHistoryToBudget(history, query, 1000, 1000, counter);
    const before = calls.length;
    await truncateHistoryToBudget([...history, { query: "q3", answer: "a3" }], "next", 1000, 1000, counter);
    // new: the bare query, its [Round 4] block, round 3's own text, the whole prompt (the junction probe is cached)
    expect(calls.length - before).toBe(4);
  });
});

describe("cheap refusals by length", () => {
  it("a question of more than budget × 80 code points is refused without tokenising it; one at the bound is counted", async () => {
    const { counter, calls } = counting(charCount);
    const long = "x".repeat(10 * MAX_CHARS_PER_TOKEN + 1);
    await expect(truncateHistoryToBudget([], long, 64, 10, counter)).rejects.toMatchObject({ code: "CONTEXT_QUERY_TOO_LONG" });
    expect(calls.some((text) => text.length > 10 * MAX_CHARS_PER_TOKEN)).toBe(false);
    // Astral code points are two UTF-16 units each: the bound counts code points.
    expect(exceedsByLength("😀".repeat(10 * MAX_CHARS_PER_TOKEN), 10)).toBe(false);
    expect(exceedsByLength("😀".repeat(10 * MAX_CHARS_PER_TOKEN + 1), 10)).toBe(true);
    expect(exceedsByLength(" ".repeat(10 * MAX_CHARS_PER_TOKEN), 10)).toBe(false);
  });

  it("a round too long by its length is dropped without tokenising it", async () => {
    const { counter, calls } = counting(charCount);
    const huge: ChatRound = { query: "y".repeat(100 * MAX_CHARS_PER_TOKEN), answer: "a" };
    const plan = await truncateHistoryToBudget([huge, ...history], query, 1000, 100, counter);
    expect(plan.droppedRounds).toBe(1);
    expect(calls.some((text) => text.length > 100 * MAX_CHARS_PER_TOKEN)).toBe(false);
  });

  it("--truncate-long-query never counts a prefix longer than the bound", async () => {
    const { counter, calls } = counting(charCount);
    const plan = await truncateHistoryToBudget([], "z".repeat(5000), 64, 20, counter, { truncateLongQuery: true });
    expect(plan.promptTokens).toBeLessThanOrEqual(20);
    expect(calls.filter((text) => text.length > 20 * MAX_CHARS_PER_TOKEN + 1)).toEqual(["z".repeat(5000)]);
  });
});

describe("TokenCounter memory", () => {
  it("is bounded in bytes as well as entries; a text over an eighth of the bytes is counted but not kept", async () => {
    const { counter, calls } = counting(charCount);
    const bounded = new TokenCounter((t) => counter.count(t), 2048, 64 * 1024);
    for (let i = 0; i < 40; i++) await bounded.count(`${i}`.padEnd(4000, "."));
    expect(bounded.cachedBytes).toBeLessThanOrEqual(64 * 1024);
    expect(bounded.cachedBytes).toBeGreaterThan(0);
    const big = "b".repeat(5000);
    await bounded.count(big);
    await bounded.count(big);
    expect(calls.filter((t) => t === big)).toHaveLength(1); // the inner counter remembers it; the bounded one did not
    const recent = `${39}`.padEnd(4000, ".");
    const before = calls.length;
    expect(await bounded.count(recent)).toBe(4002);
    expect(calls.length).toBe(before); // the newest entries are still cached
  });
});
