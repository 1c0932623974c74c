// ↑/↓ history: browsing with a draft, no repeats, and the file store across runs (multi-line, torn lines).
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileInputHistory, historyCursor, moveHistory, recordHistory } from "../../src/ui/input-history.ts";

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
});

describe("FileInputHistory", () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("keeps multi-line entries across instances and skips a torn line", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-history-"));
    const path = join(dir, "state", "glm-chat", "input-history.jsonl");
    expect(new FileInputHistory(path).load()).toEqual([]);
    new FileInputHistory(path).append("first");
    new FileInputHistory(path).append("two\nlines");
    appendFileSync(path, '"torn');
    expect(new FileInputHistory(path).load()).toEqual(["first", "two\nlines"]);
  });
});
