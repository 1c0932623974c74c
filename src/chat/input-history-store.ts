// Where the questions typed earlier (for ↑/↓ at the prompt) are kept: a JSONL file in the state dir, or memory.
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/** What the prompt needs from a history store; the UI gets one injected and never touches files. */
export interface InputHistoryStore {
  /** Entries, oldest first. */
  load(): string[];
  /** Records one submitted entry (may throw; the caller keeps going without it). */
  append(entry: string): void;
}

/** How many entries are kept for ↑/↓. */
export const INPUT_HISTORY_LIMIT = 500;

export class MemoryInputHistory implements InputHistoryStore {
  readonly #entries: string[];
  constructor(entries: string[] = []) {
    this.#entries = [...entries];
  }
  load(): string[] {
    return [...this.#entries];
  }
  append(entry: string): void {
    this.#entries.push(entry);
  }
}

/**
 * One JSON string per line (so multi-line entries stay one line), appended as they are sent; e.g.
 * `$XDG_STATE_HOME/glm-chat/input-history.jsonl`. Unreadable lines are skipped.
 */
export class FileInputHistory implements InputHistoryStore {
  constructor(readonly path: string) {}

  load(): string[] {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return [];
    }
    const entries: string[] = [];
    for (const line of text.split("\n")) {
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === "string") entries.push(value);
      } catch {
        // a torn or foreign line: skip it
      }
    }
    return entries.slice(-INPUT_HISTORY_LIMIT);
  }

  append(entry: string): void {
    mkdirSync(dirname(this.path), { recursive: true });
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
  }
}
