// The input-history stores: the JSONL file across runs (multi-line entries, torn lines, the limit) and memory.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileInputHistory, INPUT_HISTORY_LIMIT, MemoryInputHistory } from "../../src/chat/input-history-store.ts";

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

  it("loads only the newest entries, and skips lines that are not strings", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-history-"));
    const path = join(dir, "input-history.jsonl");
    const lines = Array.from({ length: INPUT_HISTORY_LIMIT + 5 }, (_, i) => JSON.stringify(`q${i}`));
    writeFileSync(path, `{"not":"a string"}\n42\n${lines.join("\n")}\n`);
    const loaded = new FileInputHistory(path).load();
    expect(loaded).toHaveLength(INPUT_HISTORY_LIMIT);
    expect(loaded[0]).toBe("q5");
  });
});

describe("MemoryInputHistory", () => {
  it("hands out copies, so a caller cannot change what it holds", () => {
    const store = new MemoryInputHistory(["a"]);
    store.load().push("x");
    store.append("b");
    expect(store.load()).toEqual(["a", "b"]);
  });
});
