// Fits the prompt into the model's window: drops the oldest whole rounds, or refuses/truncates a lone long query.
import { buildChatGlmPrompt, formatChatGlmQuery, formatChatGlmRound, type ChatRound } from "./prompt.ts";

export type ContextErrorCode = "CONTEXT_QUERY_TOO_LONG" | "CONTEXT_NO_ROOM";

export class ContextBudgetError extends Error {
  override name = "ContextBudgetError";
  constructor(
    readonly code: ContextErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What will be sent: the kept rounds (renumbered from 0 in `prompt`), the query, and their count. */
export interface ContextPlan {
  prompt: string;
  promptTokens: number;
  rounds: readonly ChatRound[];
  query: string;
  /** Oldest rounds left out of the prompt. */
  droppedRounds: number;
  /** Set when the query alone was too long and only its start was kept. */
  queryTruncated?: { originalTokens: number; keptTokens: number };
  budget: number;
  seqLength: number;
}

export interface BudgetOptions {
  /** Keep the start of a query that alone exceeds the budget, instead of refusing it. */
  truncateLongQuery?: boolean;
}

/**
 * Prompt tokens allowed: seq_length minus the answer's reserve, max_new_tokens. The reserve is capped
 * at half the window, so a max_new_tokens as large as the window still leaves room for a question
 * (the engine then stops the answer at the window's end).
 */
export function promptBudget(seqLength: number, maxNewTokens: number): number {
  return seqLength - Math.max(1, Math.min(maxNewTokens, Math.ceil(seqLength / 2)));
}

/** Counts with the backend's tokenizer, remembering each text's count (rounds are counted once). */
export class TokenCounter {
  readonly #counts = new Map<string, number>();
  constructor(
    private readonly countTokens: (text: string) => Promise<number>,
    private readonly maxEntries = 2048,
  ) {}

  async count(text: string): Promise<number> {
    const known = this.#counts.get(text);
    if (known !== undefined) return known;
    const count = await this.countTokens(text);
    if (this.#counts.size >= this.maxEntries) this.#counts.delete(this.#counts.keys().next().value as string);
    this.#counts.set(text, count);
    return count;
  }
}

/** The longest start of `text` (whole code points) that counts at most `budget` tokens. */
async function truncateToTokens(text: string, budget: number, counter: TokenCounter): Promise<string> {
  const chars = Array.from(text);
  let lo = 0; // fits
  let hi = chars.length; // does not fit
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((await counter.count(chars.slice(0, mid).join(""))) <= budget) lo = mid;
    else hi = mid;
  }
  return chars.slice(0, lo).join("");
}

/** Tokens a prompt counts less than its two halves counted apart (1 with ChatGLM's tokenizer). */
async function junctionSaving(counter: TokenCounter, overhead: number): Promise<number> {
  const probe = formatChatGlmRound(0, { query: "你好", answer: "hello" });
  const apart = 2 * ((await counter.count(probe)) - overhead);
  const together = (await counter.count(probe + probe)) - overhead;
  return Math.max(0, apart - together);
}

/**
 * Picks the most recent rounds whose prompt fits `budget` tokens. Rounds are estimated from their
 * cached counts (ChatGLM's tokenizer adds [gMASK] <sop> to each count, and a whole prompt can count a
 * token or two apart from its parts), then the assembled prompt is counted and the choice corrected,
 * so the returned prompt is exactly counted and never over budget.
 */
export async function truncateHistoryToBudget(
  history: readonly ChatRound[],
  query: string,
  seqLength: number,
  budget: number,
  counter: TokenCounter,
  options: BudgetOptions = {},
): Promise<ContextPlan> {
  const overhead = await counter.count("");
  if (budget <= overhead) {
    throw new ContextBudgetError("CONTEXT_NO_ROOM", `No room for a question: the model holds ${seqLength} tokens and the answer needs ${seqLength - budget}. Lower max_new_tokens (/set max_new_tokens N).`);
  }
  const base = { seqLength, budget };
  const queryTokens = await counter.count(query);
  if (queryTokens > budget) {
    if (!options.truncateLongQuery) {
      throw new ContextBudgetError("CONTEXT_QUERY_TOO_LONG", `The question alone is ${queryTokens} tokens; at most ${budget} fit (the model holds ${seqLength}, minus ${seqLength - budget} for the answer). Shorten it, lower max_new_tokens, or start with --truncate-long-query.`);
    }
    const kept = await truncateToTokens(query, budget, counter);
    const keptTokens = await counter.count(kept);
    return { ...base, prompt: kept, promptTokens: keptTokens, rounds: [], query: kept, droppedRounds: history.length, queryTruncated: { originalTokens: queryTokens, keptTokens } };
  }

  // Estimate: each round's own count (cached, numbered as round 0) less the shared overhead, less
  // what a junction saves (SentencePiece gives each separately counted part a leading "▁" piece).
  const junction = await junctionSaving(counter, overhead);
  const tail = (await counter.count(formatChatGlmQuery(history.length, query))) - overhead;
  let used = overhead + tail;
  let keep = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const round = history[i]!;
    const cost = (await counter.count(formatChatGlmRound(0, round))) - overhead - junction;
    if (used + cost > budget) break;
    used += cost;
    keep += 1;
  }

  const exact = async (k: number) => {
    const rounds = history.slice(history.length - k);
    const prompt = buildChatGlmPrompt(rounds, query);
    return { rounds, prompt, promptTokens: await counter.count(prompt) };
  };
  let best = await exact(keep);
  while (best.promptTokens > budget && keep > 0) best = await exact(--keep);
  while (keep < history.length) {
    const more = await exact(keep + 1);
    if (more.promptTokens > budget) break;
    best = more;
    keep += 1;
  }
  return { ...base, ...best, query, droppedRounds: history.length - keep };
}
