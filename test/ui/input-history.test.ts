// ↑/↓ history browsing: the draft, both ends, no repeats, the entry limit.
import { describe, expect, it } from "vitest";
import { INPUT_HISTORY_LIMIT } from "../../src/chat/input-history-store.ts";
import { historyCursor, moveHistory, recordHistory } from "../../src/ui/input-history.ts";

describe("moveHistory", () => {
  it("goes back through entries, keeps the draft, and stops at both ends", () => {
    let cursor = historyCursor(["one", "two"]);
    let step = moveHistory(cursor, -1, "draft");
    expect(step.line).toBe("two");
    step = moveHistory(step.cursor, -1, step.line);
    expect(step.line).toBe("one");
    step = moveHistory(step.cursor, -1, step.line);
    expect(step.line).toBe("one");
    step = moveHistory(step.cursor, 1, step.line);
    step = moveHistory(step.cursor, 1, step.line);
    expect(step.line).toBe("draft");
    step = moveHistory(step.cursor, 1, step.line);
    expect(step.line).toBe("draft");
    cursor = recordHistory(step.cursor, "two");
    expect(cursor.entries).toEqual(["one", "two"]);
    expect(recordHistory(cursor, "three").entries).toEqual(["one", "two", "three"]);
  });

  it("keeps at most the limit, dropping the oldest", () => {
    const full = historyCursor(Array.from({ length: INPUT_HISTORY_LIMIT }, (_, i) => `q${i}`));
    const next = recordHistory(full, "new");
    expect(next.entries).toHaveLength(INPUT_HISTORY_LIMIT);
    expect(next.entries[0]).toBe("q1");
    expect(next.entries.at(-1)).toBe("new");
  });
});
