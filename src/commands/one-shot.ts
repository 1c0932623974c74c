// One-shot mode: one question through a ChatSession, the answer streamed out, or the prompt it would send.
import { decodeTokensPerSecond } from "../chat/answer-speed.ts";
import type { ChatSession, ContextInfo } from "../chat/chat-session.ts";
import type { ConversationFiles } from "../chat/conversation-files.ts";
import type { ChatRound } from "../chat/prompt.ts";
import type { AppPaths } from "../config/paths.ts";
import type { CliOptions } from "./cli-options.ts";
import { chatSession, startBackend } from "./start-backend.ts";

export interface OneShotOptions {
  json: boolean;
  dryRun: boolean;
  signal?: AbortSignal;
  /** Where the output goes (stdout); the answer streams through it in plain mode. */
  write: (text: string) => void;
  /** Which engine answered (e.g. "native 0.1.0 / mindspore 2.7.2"), for --json. */
  engine?: () => string | undefined;
  /** The weights' precision and why (--precision auto's choice), for --json. */
  precision?: () => { value: string; reason: string } | undefined;
}

export interface OneShotOutcome {
  /** "stop" | "length" | "cancelled"; undefined for a dry run. */
  reason: string | undefined;
}

/** The question piped on stdin: its text, less the one newline `echo` adds. */
export function questionFromStdin(text: string): string {
  return text.replace(/\r?\n$/, "");
}

export async function runOneShot(session: ChatSession, query: string, options: OneShotOptions): Promise<OneShotOutcome> {
  const { write } = options;
  if (options.dryRun) {
    const plan = await session.planPrompt(query);
    const tokens = "promptTokens" in plan ? plan : undefined;
    if (options.json) {
      write(`${JSON.stringify({
        prompt: plan.prompt,
        prompt_tokens: tokens?.promptTokens ?? null,
        truncated_rounds: tokens?.droppedRounds ?? 0,
        query_truncated: tokens?.queryTruncated !== undefined,
        budget: tokens?.budget ?? null,
        seq_length: tokens?.seqLength ?? null,
      })}\n`);
    } else {
      const count = tokens ? `${tokens.promptTokens} tokens (budget ${tokens.budget} of seq_length ${tokens.seqLength}; ${tokens.droppedRounds} earlier rounds left out)` : "token count unknown";
      write(`${plan.prompt}\n--- ${count}\n`);
    }
    return { reason: undefined };
  }

  let context: ContextInfo | undefined;
  let answer = "";
  let reason: string | undefined;
  let usage = { prompt_tokens: 0, completion_tokens: 0 };
  let timings: { first_token_ms: number; total_ms: number; decode_tokens_per_s: number | null } = { first_token_ms: 0, total_ms: 0, decode_tokens_per_s: null };
  for await (const event of session.send(query, { signal: options.signal, onContext: (info) => (context = info) })) {
    if (event.type === "delta") {
      answer += event.text;
      if (!options.json) write(event.text);
    } else {
      reason = event.reason;
      usage = { prompt_tokens: event.usage.promptTokens, completion_tokens: event.usage.completionTokens };
      const { firstTokenMs, totalMs } = event.timings;
      const rate = decodeTokensPerSecond(event.usage.completionTokens, firstTokenMs, totalMs);
      timings = { first_token_ms: firstTokenMs, total_ms: totalMs, decode_tokens_per_s: rate === null ? null : Math.round(rate * 100) / 100 };
      if (event.saveError) throw event.saveError;
    }
  }
  if (options.json) {
    write(`${JSON.stringify({
      answer,
      usage,
      timings,
      truncated_rounds: context?.droppedRounds ?? 0,
      query_truncated: context?.queryTruncated !== undefined,
      done_reason: reason ?? null,
      engine: options.engine?.() ?? null,
      precision: options.precision?.()?.value ?? null,
      precision_reason: options.precision?.()?.reason ?? null,
    })}\n`);
  } else {
    write("\n");
  }
  return { reason };
}

/** Resolves once everything written to stdout has been handed to the OS (pipes write asynchronously). */
function flushStdout(): Promise<void> {
  return new Promise((resolve) => process.stdout.write("", () => resolve()));
}

/** `glm-chat -p QUESTION` (or piped): starts the engine, answers on stdout, closes it; 130 when cancelled. */
export async function oneShot(options: CliOptions, paths: AppPaths, query: string, files: ConversationFiles | undefined, history: ChatRound[]): Promise<number> {
  const backend = await startBackend(options, paths);
  const session = chatSession(backend, options, options.dryRun ? undefined : files);
  session.replaceHistory(history);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  try {
    const outcome = await runOneShot(session, query, {
      json: options.json,
      dryRun: options.dryRun,
      signal: controller.signal,
      write: (text) => process.stdout.write(text),
      engine: () => backend.status().engine,
      precision: () => backend.status().precision,
    });
    await flushStdout();
    return outcome.reason === "cancelled" ? 130 : 0;
  } finally {
    await backend.close();
  }
}
