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

/**
 * The most characters one ChatGLM-6B token covers: its longest piece is `<|blank_80|>`, a run of 80
 * spaces (ordinary SentencePiece pieces are at most 16 characters, the literal specials at most 12, and
 * byte-fallback pieces cover less than a character, which only makes a count larger). So a text of
 * more than budget × 80 characters (code points) cannot fit a budget, and is refused without tokenising.
 */
export const MAX_CHARS_PER_TOKEN = 80;

/** True when `text` has more code points than `budget` tokens can cover; no tokenizer needed. */
export function exceedsByLength(text: string, budget: number): boolean {
  const limit = Math.max(0, budget) * MAX_CHARS_PER_TOKEN;
  if (text.length <= limit) return false;
  if (text.length > 2 * limit) return true; // each code point is one or two UTF-16 units
  let points = 0;
  for (const _ of text) if (++points > limit) return true;
  return false;
}

/** Throws CONTEXT_QUERY_TOO_LONG for a question too long for `budget` by its length alone (checked before tokenising). */
export function refuseLongQuery(query: string, seqLength: number, budget: number): void {
  if (!exceedsByLength(query, budget)) return;
  throw new ContextBudgetError("CONTEXT_QUERY_TOO_LONG", `The question alone is over ${budget} tokens (${query.length} characters); at most ${budget} fit (the model holds ${seqLength}, minus ${seqLength - budget} for the answer). Shorten it, lower max_new_tokens, or start with --truncate-long-query.`);
}

/**
 * Counts with the backend's tokenizer, remembering each text's count (rounds are counted once). The
 * memory is bounded in entries and in bytes (UTF-16, as JS holds them); a text over an eighth of the
 * bytes is counted but not remembered.
 */
export class TokenCounter {
  readonly #counts = new Map<string, number>();
  #bytes = 0;
  constructor(
    private readonly countTokens: (text: string) => Promise<number>,
    private readonly maxEntries = 2048,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  /** Bytes of the texts remembered now. */
  get cachedBytes(): number {
    return this.#bytes;
  }

  async count(text: string): Promise<number> {
    const known = this.#counts.get(text);
    if (known !== undefined) return known;
    const count = await this.countTokens(text);
    const bytes = 2 * text.length;
    if (bytes > this.maxBytes / 8 || this.#counts.has(text)) return count;
    while (this.#counts.size > 0 && (this.#counts.size >= this.maxEntries || this.#bytes + bytes > this.maxBytes)) {
      const oldest = this.#counts.keys().next().value as string;
      this.#counts.delete(oldest);
      this.#bytes -= 2 * oldest.length;
    }
    this.#counts.set(text, count);
    this.#bytes += bytes;
    return count;
  }
}

/** The longest start of `text` (whole code points) that counts at most `budget` tokens. */
async function truncateToTokens(text: string, budget: number, counter: TokenCounter): Promise<string> {
  // Past budget × MAX_CHARS_PER_TOKEN code points nothing fits: the search never counts beyond them.
  const chars = Array.from(text.slice(0, 2 * budget * MAX_CHARS_PER_TOKEN + 2)).slice(0, budget * MAX_CHARS_PER_TOKEN + 1);
  let lo = 0; // fits
  let hi = chars.length; // does not fit (or is the whole text)
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
  if (!options.truncateLongQuery) refuseLongQuery(query, seqLength, budget);
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
    const text = formatChatGlmRound(0, round);
    if (exceedsByLength(text, budget)) break; // too long to fit by its length: not worth tokenising
    const cost = (await counter.count(text)) - overhead - junction;
    if (used + cost > budget) break;
    used += cost;
    keep += 1;
  }

  const exact = async (k: number) => {
    const rounds = history.slice(history.length - k);
    const prompt = buildChatGlmPrompt(rounds, query);
    // A prompt too long by its length alone is over budget without counting it (the query alone fits, so k > 0).
    return { rounds, prompt, promptTokens: k > 0 && exceedsByLength(prompt, budget) ? Infinity : await counter.count(prompt) };
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
