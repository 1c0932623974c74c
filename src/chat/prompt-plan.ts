// The prompt plan: the rounds and the query a turn sends, fitted into the window; and ChatGLM's rule for a system text. No state.
import { promptBudget, truncateHistoryToBudget, type ContextPlan, type TokenCounter } from "./context-budget.ts";
import { buildChatGlmPrompt, type ChatRound } from "./prompt.ts";

/** A fitted plan (the backend reports its seq_length), or every round when the window is unknown. */
export type PromptPlan = ContextPlan | { prompt: string; rounds: readonly ChatRound[]; query: string };

export interface PlanLimits {
  /** The model's window; undefined: unknown, every round is sent. */
  seqLength: number | undefined;
  maxNewTokens: number;
  counter: TokenCounter;
  /** Keep the start of a question that alone overflows the window, instead of refusing it. */
  truncateLongQuery?: boolean;
}

/**
 * The prompt `query` is sent with after `history`: the newest rounds that fit seq_length minus
 * max_new_tokens, counted by the backend's tokenizer. Without a known seq_length, every round.
 */
export function planPrompt(history: readonly ChatRound[], query: string, limits: PlanLimits): Promise<PromptPlan> {
  if (limits.seqLength === undefined) return Promise.resolve({ prompt: buildChatGlmPrompt(history, query), rounds: history, query });
  const budget = promptBudget(limits.seqLength, limits.maxNewTokens);
  return truncateHistoryToBudget(history, query, limits.seqLength, budget, limits.counter, { truncateLongQuery: limits.truncateLongQuery });
}

/**
 * ChatGLM-6B has no system role: the system text goes before the first question sent, on a line of
 * its own (`SYSTEM\nQUESTION`): the first round's, or the query's when no round is sent.
 */
export function withSystem(rounds: readonly ChatRound[], query: string, system: string | undefined): { rounds: ChatRound[]; query: string } {
  if (system === undefined) return { rounds: [...rounds], query };
  if (rounds.length === 0) return { rounds: [], query: `${system}\n${query}` };
  return { rounds: [{ ...rounds[0]!, query: `${system}\n${rounds[0]!.query}` }, ...rounds.slice(1)], query };
}

/**
 * The rounds and query to send with the system text on the first one sent: when the budget drops the
 * oldest rounds, the text moves to the first round kept (which may drop more), so it is never dropped
 * with them. `plan` is planPrompt with the turn's limits; `dropped` counts the rounds left out here.
 */
export async function fitSystemText(
  rounds: readonly ChatRound[],
  query: string,
  system: string | undefined,
  plan: (rounds: readonly ChatRound[], query: string) => Promise<PromptPlan>,
): Promise<{ rounds: ChatRound[]; query: string; dropped: number }> {
  let dropped = 0;
  for (;;) {
    const fitted = withSystem(rounds.slice(dropped), query, system);
    if (system === undefined || fitted.rounds.length === 0) return { ...fitted, dropped };
    const planned = await plan(fitted.rounds, fitted.query);
    if (!("droppedRounds" in planned) || planned.droppedRounds === 0) return { ...fitted, dropped };
    dropped += planned.droppedRounds;
  }
}
