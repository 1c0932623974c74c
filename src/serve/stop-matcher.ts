// Stop sequences on streamed text: passes text through, holds back what may start a stop string, cuts at the first match.

export interface StopPush {
  /** Text that is safe to send now. */
  text: string;
  /** A stop string was found; nothing after it is ever sent. */
  stopped: boolean;
}

export class StopMatcher {
  #held = "";
  #stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  push(delta: string): StopPush {
    if (this.#stopped) return { text: "", stopped: true };
    const text = this.#held + delta;
    let cut = -1;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.#stopped = true;
      this.#held = "";
      return { text: text.slice(0, cut), stopped: true };
    }
    const keep = this.#heldBack(text);
    this.#held = text.slice(text.length - keep);
    return { text: text.slice(0, text.length - keep), stopped: false };
  }

  /** The held-back text, once the answer has ended without a stop string. */
  flush(): string {
    const rest = this.#stopped ? "" : this.#held;
    this.#held = "";
    return rest;
  }

  /** Length of the longest end of `text` that is the start of some stop string. */
  #heldBack(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
