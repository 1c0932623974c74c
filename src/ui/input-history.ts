// ↑/↓ browsing over the questions typed earlier; the entries come from an injected store (see chat/input-history-store).
import { INPUT_HISTORY_LIMIT } from "../chat/input-history-store.ts";

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
