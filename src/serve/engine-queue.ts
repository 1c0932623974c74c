// One engine, many clients: a single running slot and a bounded FIFO of waiters that may leave while they wait.

/** Thrown by acquire when the waiting line is full. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  readonly code = "QUEUE_FULL";
  constructor(readonly waiting: number) {
    super(`The server is busy: ${waiting} requests are already waiting for the model. Retry later.`);
  }
}

/** Thrown by acquire when the signal fires before the slot is free (the client went away), or on shutdown. */
export class QueueLeftError extends Error {
  override name = "QueueLeftError";
  constructor(
    readonly code: "QUEUE_LEFT" | "SERVER_STOPPING",
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  refuse: (error: Error) => void;
}

export class EngineQueue {
  #running = false;
  readonly #waiting: Waiter[] = [];

  constructor(readonly maxWaiting: number) {}

  get running(): boolean {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with a release function once this caller holds the engine; callers are served in the
   * order they called. Throws QueueFullError at once when maxWaiting callers already wait.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new QueueLeftError("QUEUE_LEFT", "the client went away before its turn"));
    if (!this.#running) {
      this.#running = true;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.maxWaiting) return Promise.reject(new QueueFullError(this.#waiting.length));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(new QueueLeftError("QUEUE_LEFT", "the client went away before its turn"));
      };
      const waiter: Waiter = {
        grant: (release) => (signal?.removeEventListener("abort", onAbort), resolve(release)),
        refuse: (error) => (signal?.removeEventListener("abort", onAbort), reject(error)),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Refuses everyone still waiting (the server is stopping); the running caller keeps its slot. */
  refuseWaiting(error: Error): void {
    for (const waiter of this.#waiting.splice(0)) waiter.refuse(error);
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next.grant(this.#releaser());
      else this.#running = false;
    };
  }
}
