// One conversation: keeps the rounds, fits each prompt into the context window, runs one turn at a time.
import type { ChatBackend, GenerateEvent } from "./backend.ts";
import { TokenCounter, type ContextPlan } from "./context-budget.ts";
import { applySetting, DEFAULT_GENERATION_SETTINGS, samplingOptionsOf, SETTINGS, type GenerationSettings } from "./generation-settings.ts";
import type { ChatRound } from "./prompt.ts";
import { planPrompt, type PromptPlan } from "./prompt-plan.ts";
import { processResponse, StreamingResponseProcessor } from "./response-postprocess.ts";

export type { ChatRound };

type BackendDone = Extract<GenerateEvent, { type: "done" }>;

/** How the prompt of a turn was fitted into the window (only when the backend reports its seq_length). */
export type ContextInfo = Omit<ContextPlan, "prompt" | "rounds" | "query">;

/** What a turn yields: answer text as it arrives, then one `done` carrying the recorded round. */
export type TurnEvent =
  | { type: "delta"; text: string }
  | {
      type: "done";
      round: ChatRound;
      reason: BackendDone["reason"];
      usage: BackendDone["usage"];
      timings: BackendDone["timings"];
      /** Set when the onRecord hook (autosave) failed; the turn itself succeeded. */
      saveError?: Error;
    };

export interface ChatSessionOptions {
  /** Shorthand for settings.maxNewTokens. */
  maxNewTokens?: number;
  /** Settings sent with every answer; anything left out takes the backend's default. */
  settings?: Partial<GenerationSettings>;
  /** Keep the start of a question that alone overflows the window, instead of refusing it. */
  truncateLongQuery?: boolean;
  /** Called after each round joins the history (e.g. to autosave); may throw. */
  onRecord?: (history: readonly ChatRound[]) => void;
  /** A token counter shared with other sessions on the same backend (its counts are cached). */
  tokenCounter?: TokenCounter;
}

export interface SendOptions {
  signal?: AbortSignal;
  /** Told, before the answer starts, how the prompt was fitted into the window (rounds left out, tokens). */
  onContext?: (info: ContextInfo) => void;
}

/** Thrown when a turn starts while another is still running. */
export class ChatSessionBusyError extends Error {
  override name = "ChatSessionBusyError";
  readonly code = "CHAT_SESSION_BUSY";
  constructor() {
    super("A question is already being answered.");
  }
}

export class ChatSession {
  readonly #backend: ChatBackend;
  readonly #options: ChatSessionOptions;
  readonly #counter: TokenCounter;
  /** Only what was set explicitly is sent; the rest is the backend's default. */
  #overrides: Partial<GenerationSettings>;
  #history: ChatRound[] = [];
  #lastPrompt: string | undefined;
  #lastContext: ContextInfo | undefined;
  #busy = false;
  /** Bumped by clear() and replaceHistory(), so a turn running across them is not recorded. */
  #epoch = 0;

  constructor(backend: ChatBackend, options: ChatSessionOptions = {}) {
    this.#backend = backend;
    this.#options = options;
    this.#counter = options.tokenCounter ?? new TokenCounter((text) => backend.countTokens(text));
    this.#overrides = { ...options.settings };
    if (options.maxNewTokens !== undefined) this.#overrides.maxNewTokens = options.maxNewTokens;
  }

  /** The rounds so far, oldest first. */
  get history(): readonly ChatRound[] {
    return this.#history;
  }

  /** The full prompt of the latest turn, as sent to the backend. */
  get lastPrompt(): string | undefined {
    return this.#lastPrompt;
  }

  /** How the latest turn's prompt was fitted into the window, when the backend reports its seq_length. */
  get lastContext(): ContextInfo | undefined {
    return this.#lastContext;
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** The settings in effect (ChatGLM-6B chat()'s defaults for anything not set). */
  get settings(): GenerationSettings {
    return { ...DEFAULT_GENERATION_SETTINGS, ...this.#overrides };
  }

  /** `/set name value`; throws SettingError with words for the user. */
  set(name: string, value: string): GenerationSettings {
    const next = applySetting(this.settings, name, value);
    const key = SETTINGS[name]!.key;
    this.#overrides = { ...this.#overrides, [key]: next[key] };
    return next;
  }

  clear(): void {
    this.#history = [];
    this.#epoch += 1;
  }

  /**
   * For /retry: removes the latest round from the history and returns it, so its question can be
   * asked again; undefined when there is none or a turn is running.
   */
  takeLastRound(): ChatRound | undefined {
    if (this.#busy) return undefined;
    return this.#history.pop();
  }

  /** Continues another conversation (a loaded session). */
  replaceHistory(rounds: readonly ChatRound[]): void {
    this.#history = [...rounds];
    this.#epoch += 1;
  }

  /**
   * The prompt `query` would be sent with after `history` (default: this session's), by planPrompt
   * with this session's limits: the backend's seq_length, max_new_tokens, its token counts.
   */
  async planPrompt(query: string, history: readonly ChatRound[] = this.#history): Promise<PromptPlan> {
    await this.#counter.count(""); // the first count waits for the engine, which tells its seq_length
    const limits = { seqLength: this.#backend.status().seqLength, maxNewTokens: this.settings.maxNewTokens, counter: this.#counter };
    return planPrompt(history, query, { ...limits, truncateLongQuery: this.#options.truncateLongQuery });
  }

  /**
   * Asks `query` with as much history as fits (`onContext` says how it was fitted). Yields the
   * answer post-processed as ChatGLM's process_response does (pieces only append), then
   * `done`. The round is appended to the history when the turn ends: finished, stopped by `signal`
   * (partial answer, `interrupted`), abandoned by the consumer, or failed (partial answer,
   * `interrupted`, then the backend's error is rethrown). A stopped or failed turn that produced no
   * text is not recorded. Runs when first iterated; throws ChatSessionBusyError if another turn runs.
   */
  async *send(query: string, options: SendOptions = {}): AsyncGenerator<TurnEvent, void, undefined> {
    if (this.#busy) throw new ChatSessionBusyError();
    this.#busy = true;
    const epoch = this.#epoch;
    const processor = new StreamingResponseProcessor();
    let sentQuery = query;
    let recorded = false;
    const record = (interrupted: boolean): { round: ChatRound; saveError?: Error } => {
      recorded = true;
      const answer = processResponse(processor.raw);
      const round: ChatRound = interrupted ? { query: sentQuery, answer, interrupted } : { query: sentQuery, answer };
      if (epoch !== this.#epoch || (interrupted && answer === "")) return { round };
      this.#history.push(round);
      try {
        this.#options.onRecord?.(this.#history);
        return { round };
      } catch (error) {
        return { round, saveError: error instanceof Error ? error : new Error(String(error)) };
      }
    };

    try {
      const plan = await this.planPrompt(query);
      sentQuery = plan.query;
      this.#lastPrompt = plan.prompt;
      this.#lastContext = undefined;
      if ("promptTokens" in plan) {
        const { prompt: _p, rounds: _r, query: _q, ...info } = plan;
        this.#lastContext = info;
        options.onContext?.(info);
      }
      const settings = this.settings;
      const events = this.#backend.generate(plan.prompt, {
        signal: options.signal,
        maxNewTokens: this.#overrides.maxNewTokens,
        sampling: samplingOptionsOf(settings, this.#overrides),
      });
      try {
        for await (const event of events) {
          if (event.type === "delta") {
            const piece = processor.push(event.text);
            if (piece !== "") yield { type: "delta", text: piece };
          } else {
            const tail = processor.finish();
            if (tail !== "") yield { type: "delta", text: tail };
            const { round, saveError } = record(event.reason === "cancelled");
            yield { type: "done", round, reason: event.reason, usage: event.usage, timings: event.timings, ...(saveError ? { saveError } : {}) };
            return;
          }
        }
      } catch (error) {
        // Show the held-back end of the partial answer before the error.
        const tail = processor.finish();
        if (tail !== "") yield { type: "delta", text: tail };
        throw error;
      }
    } finally {
      // No `done` arrived: the backend threw, the stream ended early, or the consumer stopped reading.
      if (!recorded && processor.raw !== "") record(true);
      this.#busy = false;
    }
  }
}
