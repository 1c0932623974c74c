// One API request as a chat turn: messages become ChatGLM rounds, then a ChatSession answers it when the queue lets it.
import type { ChatBackend, GenerateEvent } from "../chat/backend.ts";
import { ChatSession, type ContextInfo } from "../chat/chat-session.ts";
import { promptBudget, refuseLongQuery, type TokenCounter } from "../chat/context-budget.ts";
import type { GenerationSettings } from "../chat/generation-settings.ts";
import type { ChatRound } from "../chat/prompt.ts";
import { fitSystemText } from "../chat/prompt-plan.ts";
import { badRequest } from "./api-errors.ts";
import type { EngineQueue } from "./engine-queue.ts";
import { StopMatcher } from "./stop-matcher.ts";

export interface ServeMessage {
  role: "system" | "developer" | "user" | "assistant";
  content: string;
}

/** A request reduced to what the chat core takes. */
export interface ServeJob extends Conversation {
  settings: Partial<GenerationSettings>;
  stop: readonly string[];
}

type Done = Extract<GenerateEvent, { type: "done" }>;

export interface JobResult {
  text: string;
  /** stop: the model ended or a stop string came; length: the token limit; cancelled: the client went away. */
  reason: "stop" | "length" | "cancelled";
  usage: Done["usage"];
  timings: Done["timings"];
  context: ContextInfo | undefined;
}

export interface JobHooks {
  /** The prompt is planned and the answer starts; called once, before any delta. */
  onStart?: (context: ContextInfo | undefined) => void;
  onDelta?: (text: string) => void;
}

/** A request's conversation: past rounds, the question, and the system text kept apart (chat/prompt-plan.ts puts it in). */
export interface Conversation {
  rounds: ChatRound[];
  query: string;
  /** System (and developer) messages, in order, joined by newlines; undefined when there are none. */
  system?: string;
}

/**
 * User/assistant pairs become rounds; the last message must be the user's and is the query.
 * Consecutive messages of one role are joined by a newline; an assistant message before any user
 * message is a round with an empty question.
 */
export function conversationOf(messages: readonly ServeMessage[]): Conversation {
  const system = messages.filter((m) => m.role === "system" || m.role === "developer").map((m) => m.content);
  const turns: { role: "user" | "assistant"; content: string }[] = [];
  for (const message of messages) {
    if (message.role !== "user" && message.role !== "assistant") continue;
    const last = turns.at(-1);
    if (last?.role === message.role) last.content += `\n${message.content}`;
    else turns.push({ role: message.role, content: message.content });
  }
  if (turns.at(-1)?.role !== "user") {
    throw badRequest("invalid_messages", "The last message must be the user's (a user message after any assistant one): it is the question the model answers.", "messages");
  }
  const rounds: ChatRound[] = [];
  let query: string | undefined;
  for (const turn of turns.slice(0, -1)) {
    if (turn.role === "user") query = turn.content;
    else {
      rounds.push({ query: query ?? "", answer: turn.content });
      query = undefined;
    }
  }
  return { rounds, query: turns.at(-1)!.content, ...(system.length ? { system: system.join("\n") } : {}) };
}

/** Runs jobs one at a time on one backend, sharing its token counts. */
export class JobRunner {
  /** Mean duration of recent answers (exponentially weighted), for Retry-After. */
  meanAnswerMs = 1000;

  constructor(
    private readonly backend: ChatBackend,
    private readonly counter: TokenCounter,
    readonly queue: EngineQueue,
  ) {}

  /**
   * Waits for the engine (the queue), then answers. `signal` is the client going away: in the queue it
   * leaves the line; while answering it stops the engine within a token. Errors before onStart are the
   * request's (context too long, engine down); after it, the answer's.
   */
  async run(job: ServeJob, signal: AbortSignal, hooks: JobHooks = {}): Promise<JobResult> {
    // A question too long by its length alone is refused before it waits for (and holds) the engine.
    const seqLength = this.backend.status().seqLength;
    if (seqLength && job.settings.maxNewTokens) refuseLongQuery(job.query, seqLength, promptBudget(seqLength, job.settings.maxNewTokens));
    const release = await this.queue.acquire(signal);
    const startedMs = performance.now();
    const inner = new AbortController();
    const forward = () => inner.abort();
    signal.addEventListener("abort", forward, { once: true });
    try {
      const session = new ChatSession(this.backend, { settings: job.settings, tokenCounter: this.counter });
      const { query, dropped } = await this.#fitSystem(session, job);
      const stops = new StopMatcher(job.stop);
      let context: ContextInfo | undefined;
      let started = false;
      const start = (info: ContextInfo | undefined) => {
        if (started) return;
        started = true;
        context = info && { ...info, droppedRounds: info.droppedRounds + dropped };
        hooks.onStart?.(context);
      };
      let text = "";
      const emit = (piece: string) => {
        if (piece === "") return;
        text += piece;
        hooks.onDelta?.(piece);
      };
      for await (const event of session.send(query, { signal: inner.signal, onContext: start })) {
        start(undefined);
        if (event.type === "delta") {
          if (stops.stopped) continue;
          const pushed = stops.push(event.text);
          emit(pushed.text);
          if (pushed.stopped) inner.abort();
        } else {
          emit(stops.flush());
          const reason = stops.stopped ? "stop" : event.reason;
          return { text, reason, usage: event.usage, timings: event.timings, context };
        }
      }
      throw new Error("the answer ended without its done event");
    } finally {
      signal.removeEventListener("abort", forward);
      this.meanAnswerMs = 0.8 * this.meanAnswerMs + 0.2 * (performance.now() - startedMs);
      release();
    }
  }

  /** The session gets the job's rounds with the system text where chat/'s rule puts it; returns the query and the rounds dropped for it. */
  async #fitSystem(session: ChatSession, job: ServeJob): Promise<{ query: string; dropped: number }> {
    const fitted = await fitSystemText(job.rounds, job.query, job.system, (rounds, query) => session.planPrompt(query, rounds));
    session.replaceHistory(fitted.rounds);
    return { query: fitted.query, dropped: fitted.dropped };
  }
}
