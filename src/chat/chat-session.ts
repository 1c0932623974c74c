// One conversation: keeps the rounds so far and runs one turn at a time against a ChatBackend.
import type { ChatBackend, GenerateEvent } from "./backend.ts";
import { buildChatGlmPrompt, type ChatRound } from "./prompt.ts";

export type { ChatRound };

type BackendDone = Extract<GenerateEvent, { type: "done" }>;

/** What a turn yields: answer text as it arrives, then one `done` carrying the recorded round. */
export type TurnEvent =
  | { type: "delta"; text: string }
  | {
      type: "done";
      round: ChatRound;
      reason: BackendDone["reason"];
      usage: BackendDone["usage"];
      timings: BackendDone["timings"];
    };

export interface ChatSessionOptions {
  /** Passed to every generate call; the backend's default when left out. */
  maxNewTokens?: number;
}

export interface SendOptions {
  signal?: AbortSignal;
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
  #history: ChatRound[] = [];
  #lastPrompt: string | undefined;
  #busy = false;
  /** Bumped by clear(), so a turn that was running across a clear is not recorded. */
  #epoch = 0;

  constructor(backend: ChatBackend, options: ChatSessionOptions = {}) {
    this.#backend = backend;
    this.#options = options;
  }

  /** The rounds so far, oldest first. */
  get history(): readonly ChatRound[] {
    return this.#history;
  }

  /** The full prompt of the latest turn, as sent to the backend. */
  get lastPrompt(): string | undefined {
    return this.#lastPrompt;
  }

  get busy(): boolean {
    return this.#busy;
  }

  clear(): void {
    this.#history = [];
    this.#epoch += 1;
  }

  /**
   * Asks `query` with the history as context. The round is appended to the history when the turn
   * ends: finished, stopped by `signal` (partial answer, `interrupted`), abandoned by the consumer,
   * or failed (partial answer, `interrupted`, then the backend's error is rethrown). A stopped or
   * failed turn that produced no text is not recorded. Runs when first iterated; throws
   * ChatSessionBusyError if another turn is running.
   */
  async *send(query: string, options: SendOptions = {}): AsyncGenerator<TurnEvent, void, undefined> {
    if (this.#busy) throw new ChatSessionBusyError();
    this.#busy = true;
    const epoch = this.#epoch;
    const prompt = buildChatGlmPrompt(this.#history, query);
    this.#lastPrompt = prompt;
    let answer = "";
    let recorded = false;
    const record = (interrupted: boolean): ChatRound => {
      recorded = true;
      const round: ChatRound = interrupted ? { query, answer, interrupted } : { query, answer };
      if (epoch === this.#epoch && !(interrupted && answer === "")) this.#history.push(round);
      return round;
    };

    try {
      const events = this.#backend.generate(prompt, {
        signal: options.signal,
        maxNewTokens: this.#options.maxNewTokens,
      });
      for await (const event of events) {
        if (event.type === "delta") {
          answer += event.text;
          yield { type: "delta", text: event.text };
        } else {
          const round = record(event.reason === "cancelled");
          yield { type: "done", round, reason: event.reason, usage: event.usage, timings: event.timings };
          return;
        }
      }
    } finally {
      // No `done` arrived: the backend threw, the stream ended early, or the consumer stopped reading.
      if (!recorded) record(true);
      this.#busy = false;
    }
  }
}
