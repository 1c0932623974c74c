// A ChatBackend for tests: each generate call becomes a FakeTurn the test drives step by step.
import type { BackendStatus, ChatBackend, GenerateEvent, GenerateOptions } from "../../src/chat/backend.ts";

type DoneReason = Extract<GenerateEvent, { type: "done" }>["reason"];
type Step = { type: "delta"; text: string } | { type: "done"; reason: DoneReason } | { type: "error"; error: Error };

/** An Error with a string `code`, as the real backend throws. */
export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** One generate call. Steps queue up until the stream reads them; an abort ends it as "cancelled". */
export class FakeTurn {
  readonly #steps: Step[] = [];
  #wake: (() => void) | undefined;
  /** Set once the stream has ended, however it ended. */
  ended = false;
  /** When set, each step is read in its own macrotask, as socket messages arrive. */
  spaced = false;
  /** When set, the abort signal is ignored, as by a hung engine. */
  ignoreAbort = false;

  constructor(
    readonly prompt: string,
    readonly options: GenerateOptions,
  ) {}

  delta(...texts: string[]): this {
    for (const text of texts) this.#push({ type: "delta", text });
    return this;
  }

  finish(reason: DoneReason = "stop"): this {
    this.#push({ type: "done", reason });
    return this;
  }

  fail(error: Error): this {
    this.#push({ type: "error", error });
    return this;
  }

  async *events(): AsyncGenerator<GenerateEvent> {
    const signal = this.options.signal;
    const onAbort = () => this.#wake?.();
    signal?.addEventListener("abort", onAbort);
    const aborted = () => signal?.aborted === true && !this.ignoreAbort;
    let completionTokens = 0;
    const done = (reason: DoneReason): GenerateEvent => ({
      type: "done",
      reason,
      usage: { promptTokens: this.prompt.length, completionTokens },
      timings: { firstTokenMs: 120, totalMs: 120 + 50 * Math.max(0, completionTokens - 1) },
    });
    try {
      for (;;) {
        if (aborted()) {
          yield done("cancelled");
          return;
        }
        if (this.spaced) await new Promise((resolve) => setImmediate(resolve));
        const step = this.#steps.shift();
        if (!step) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          continue;
        }
        if (step.type === "error") throw step.error;
        if (step.type === "done") {
          yield done(step.reason);
          return;
        }
        completionTokens += 1;
        yield { type: "delta", text: step.text };
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.ended = true;
    }
  }

  #push(step: Step): void {
    this.#steps.push(step);
    this.#wake?.();
  }
}

export class FakeBackend implements ChatBackend {
  readonly turns: FakeTurn[] = [];
  readonly #listeners = new Set<(status: BackendStatus) => void>();
  readonly #scripts: ((turn: FakeTurn) => void)[] = [];
  readonly #waiters = new Map<number, ((turn: FakeTurn) => void)[]>();
  #status: BackendStatus;

  constructor(status: BackendStatus = { state: "ready", device: "CPU", engine: "fake 1.0" }) {
    this.#status = status;
  }

  generate(prompt: string, options: GenerateOptions = {}): AsyncIterable<GenerateEvent> {
    const turn = new FakeTurn(prompt, options);
    const index = this.turns.push(turn) - 1;
    this.#scripts.shift()?.(turn);
    for (const resolve of this.#waiters.get(index) ?? []) resolve(turn);
    this.#waiters.delete(index);
    return turn.events();
  }

  /** Scripts the next generate call that has no script yet, e.g. `t => t.delta("hi").finish()`. */
  script(steps: (turn: FakeTurn) => void): this {
    this.#scripts.push(steps);
    return this;
  }

  /** Shorthand: the next unscripted generate call answers these deltas, then stops. */
  reply(...deltas: string[]): this {
    return this.script((turn) => turn.delta(...deltas).finish());
  }

  /** The turn of the `index`th generate call (0-based), once it has been made. */
  turnAt(index: number): Promise<FakeTurn> {
    const turn = this.turns[index];
    if (turn) return Promise.resolve(turn);
    return new Promise((resolve) => {
      this.#waiters.set(index, [...(this.#waiters.get(index) ?? []), resolve]);
    });
  }

  status(): BackendStatus {
    return this.#status;
  }

  /** Counts whitespace-separated words plus 2, like ChatGLM's [gMASK] <sop> suffix. */
  async countTokens(text: string): Promise<number> {
    return text.split(/\s+/).filter(Boolean).length + 2;
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  setStatus(status: BackendStatus): void {
    this.#status = status;
    for (const listener of this.#listeners) listener(status);
  }
}
