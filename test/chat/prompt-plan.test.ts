// chat/prompt-plan.ts: the plan without and with a known window, the system text's place, and its move when old rounds are dropped.
import { describe, expect, it } from "vitest";
import { TokenCounter } from "../../src/chat/context-budget.ts";
import { fitSystemText, planPrompt, withSystem, type PromptPlan } from "../../src/chat/prompt-plan.ts";
import type { ChatRound } from "../../src/chat/prompt.ts";

/** One token per character, plus the 2 ChatGLM adds ([gMASK] <sop>). */
const counter = () => new TokenCounter(async (text) => Array.from(text).length + 2);

describe("planPrompt", () => {
  const history: ChatRound[] = [{ query: "old question", answer: "old answer" }, { query: "q1", answer: "a1" }];

  it("sends every round when the window is unknown", async () => {
    const plan = await planPrompt(history, "q", { seqLength: undefined, maxNewTokens: 8, counter: counter() });
    expect(plan).toEqual({ prompt: "[Round 0]\n问：old question\n答：old answer\n[Round 1]\n问：q1\n答：a1\n[Round 2]\n问：q\n答：", rounds: history, query: "q" });
  });

  it("drops the oldest rounds that do not fit seq_length less max_new_tokens", async () => {
    const plan = await planPrompt(history, "q", { seqLength: 64, maxNewTokens: 16, counter: counter() });
    expect(plan).toMatchObject({ droppedRounds: 1, rounds: [history[1]], budget: 48, seqLength: 64 });
    expect("promptTokens" in plan && plan.promptTokens).toBeLessThanOrEqual(48);
  });
});

describe("withSystem", () => {
  it("puts the system text before the first question sent: the first round's, else the query's", () => {
    const rounds = [{ query: "a", answer: "b" }, { query: "c", answer: "d" }];
    expect(withSystem(rounds, "q", "S")).toEqual({ rounds: [{ query: "S\na", answer: "b" }, { query: "c", answer: "d" }], query: "q" });
    expect(withSystem([], "q", "S")).toEqual({ rounds: [], query: "S\nq" });
    expect(withSystem(rounds, "q", undefined)).toEqual({ rounds, query: "q" });
    expect(rounds[0]!.query).toBe("a"); // not changed in place
  });
});

describe("fitSystemText", () => {
  const rounds: ChatRound[] = [{ query: "r0", answer: "x" }, { query: "r1", answer: "y" }, { query: "r2", answer: "z" }];
  /** A plan that keeps `fits` rounds at most. */
  const keeping = (fits: number) => async (sent: readonly ChatRound[], query: string): Promise<PromptPlan> =>
    ({ prompt: "", promptTokens: 1, rounds: sent.slice(-fits), query, droppedRounds: Math.max(0, sent.length - fits), budget: 1, seqLength: 2 });

  it("moves the system text to the first round kept when older rounds are dropped", async () => {
    expect(await fitSystemText(rounds, "q", "S", keeping(1))).toEqual({ rounds: [{ query: "S\nr2", answer: "z" }], query: "q", dropped: 2 });
    expect(await fitSystemText(rounds, "q", "S", keeping(5))).toEqual({ rounds: [{ query: "S\nr0", answer: "x" }, rounds[1], rounds[2]], query: "q", dropped: 0 });
  });

  it("puts it on the query when no round fits, and leaves a conversation without one as it is", async () => {
    expect(await fitSystemText(rounds, "q", "S", keeping(0))).toEqual({ rounds: [], query: "S\nq", dropped: 3 });
    expect(await fitSystemText(rounds, "q", undefined, keeping(0))).toEqual({ rounds, query: "q", dropped: 0 });
  });
});
