// Questions typed earlier, for ↑/↓ at the prompt: an injected store (a file, or memory when none is given).
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

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

/** ↑/↓ browsing over the entries; `draft` is what was typed before the first ↑. */
export interface HistoryCursor {
  entries: string[];
  /** entries.length while not browsing. */
  index: number;
  draft: string;
}

export function historyCursor(entries: string[]): HistoryCursor {
  return { entries, index: entries.length, draft: "" };
}

/** Moves by -1 (↑, older) or +1 (↓, newer); returns the new cursor and the line to show. */
export function moveHistory(cursor: HistoryCursor, by: -1 | 1, line: string): { cursor: HistoryCursor; line: string } {
  const index = Math.max(0, Math.min(cursor.entries.length, cursor.index + by));
  if (index === cursor.index) return { cursor, line };
  const draft = cursor.index === cursor.entries.length ? line : cursor.draft;
  const next = { ...cursor, index, draft };
  return { cursor: next, line: index === cursor.entries.length ? draft : cursor.entries[index]! };
}

/** After a submit: the entry joins the end (not twice in a row) and browsing starts over. */
export function recordHistory(cursor: HistoryCursor, entry: string): HistoryCursor {
  const entries = cursor.entries.at(-1) === entry ? cursor.entries : [...cursor.entries, entry].slice(-INPUT_HISTORY_LIMIT);
  return historyCursor(entries);
}
