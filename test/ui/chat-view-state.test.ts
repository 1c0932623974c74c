// The chat screen reducer: ids, the pending answer, and what a turn's end commits.
import { describe, expect, it } from "vitest";
import { chatViewReducer, initialChatViewState, liveText, type ChatViewState } from "../../src/ui/chat-view-state.ts";

const stats = { reason: "stop" as const, usage: { promptTokens: 1, completionTokens: 2 }, timings: { firstTokenMs: 1, totalMs: 2 } };

function started(): ChatViewState {
  return chatViewReducer(initialChatViewState("GLM"), { type: "turn-started", query: "q" });
}

describe("chatViewReducer", () => {
  it("starts with the banner and gives items increasing ids", () => {
    const state = chatViewReducer(initialChatViewState("GLM"), {
      type: "append",
      items: [{ kind: "note", text: "a" }, { kind: "help" }],
    });
    expect(state.items.map((i) => [i.id, i.kind])).toEqual([[0, "banner"], [1, "note"], [2, "help"]]);
  });

  it("a started turn echoes the question and opens an empty pending answer", () => {
    const state = started();
    expect(state.items.at(-1)).toMatchObject({ kind: "user", text: "q" });
    expect(state.pending).toEqual({ text: "", stopping: false, committed: 0, reopen: "" });
  });

  it("keeps the text when the turn is being stopped", () => {
    let state = chatViewReducer(started(), { type: "turn-text", text: "abc" });
    state = chatViewReducer(state, { type: "turn-stopping" });
    expect(state.pending).toMatchObject({ text: "abc", stopping: true });
  });

  it("ignores text when no turn is running", () => {
    const idle = initialChatViewState();
    expect(chatViewReducer(idle, { type: "turn-text", text: "x" })).toBe(idle);
  });

  it("commits the answer and the stats, and closes the pending answer", () => {
    const state = chatViewReducer(started(), { type: "turn-ended", text: "a", end: "complete", stats });
    expect(state.items.at(-1)).toMatchObject({ kind: "answer", text: "a", end: "complete" });
    expect(state.pending).toBeUndefined();
    expect(state.lastStats).toBe(stats);
  });

  it("keeps a stopped answer even when empty", () => {
    const state = chatViewReducer(started(), { type: "turn-ended", text: "", end: "stopped" });
    expect(state.items.at(-1)).toMatchObject({ kind: "answer", text: "", end: "stopped" });
  });

  it("a failure commits what arrived, then the error; with nothing arrived only the error", () => {
    const error = { message: "boom", code: "SIDECAR_EXITED" };
    const partial = chatViewReducer(started(), { type: "turn-ended", text: "pa", end: "failed", error });
    expect(partial.items.slice(-2).map((i) => i.kind)).toEqual(["answer", "error"]);
    const empty = chatViewReducer(started(), { type: "turn-ended", text: "", end: "failed", error });
    expect(empty.items.slice(-2).map((i) => i.kind)).toEqual(["user", "error"]);
    expect(empty.lastStats).toBeUndefined();
  });
});

describe("chatViewReducer context", () => {
  const info = { promptTokens: 100, seqLength: 256, budget: 240, droppedRounds: 0 };

  it("notes left-out rounds and tracks how full the window is", () => {
    const one = chatViewReducer(started(), { type: "turn-context", info: { ...info, droppedRounds: 1 } });
    expect(one.items.at(-1)).toMatchObject({ kind: "note", text: "1 earlier round left out of the context" });
    const two = chatViewReducer(started(), { type: "turn-context", info: { ...info, droppedRounds: 2 } });
    expect(two.items.at(-1)).toMatchObject({ kind: "note", text: "2 earlier rounds left out of the context" });
    expect(two.context).toEqual({ used: 100, size: 256 });
    const ended = chatViewReducer(two, { type: "turn-ended", text: "a", end: "complete", stats });
    expect(ended.context).toEqual({ used: 102, size: 256 });
  });

  it("adds no note when every round fit, and one for a truncated question", () => {
    const none = chatViewReducer(started(), { type: "turn-context", info });
    expect(none.items.at(-1)).toMatchObject({ kind: "user" });
    const cut = chatViewReducer(started(), { type: "turn-context", info: { ...info, queryTruncated: { originalTokens: 900, keptTokens: 240 } } });
    expect(cut.items.at(-1)).toMatchObject({ kind: "note", text: expect.stringContaining("only its first 240 were sent") });
  });
});

describe("chatViewReducer long answers", () => {
  const fit = { rows: 4, columns: 40 };

  it("commits the start of an answer taller than the room at a blank line, and the rest at the end", () => {
    const text = "para one\n\npara two\n\npara three\nstill three\nand more";
    const state = chatViewReducer(started(), { type: "turn-text", text, fit });
    expect(state.items.at(-1)).toEqual(expect.objectContaining({ kind: "answer-part", text: "para one\n\npara two\n\n" }));
    expect(liveText(state.pending!)).toBe("para three\nstill three\nand more");
    const ended = chatViewReducer(state, { type: "turn-ended", text: `${text}!`, end: "complete", stats });
    expect(ended.items.at(-1)).toMatchObject({ kind: "answer", text: "para three\nstill three\nand more!" });
  });

  it("closes and reopens a code fence that alone is taller than the room", () => {
    const text = "```python\na = 1\nb = 2\nc = 3\nd = 4\ne = 5";
    const state = chatViewReducer(started(), { type: "turn-text", text, fit });
    const part = state.items.at(-1)!;
    expect(part).toMatchObject({ kind: "answer-part", text: "```python\na = 1\nb = 2\nc = 3\nd = 4\n```\n" });
    expect(liveText(state.pending!)).toBe("```python\ne = 5");
    const more = chatViewReducer(state, { type: "turn-text", text: `${text}\n\`\`\`\n\ndone`, fit });
    expect(more.items.at(-1)).toMatchObject({ kind: "answer-part", text: "```python\ne = 5\n```\n\n" });
    expect(liveText(more.pending!)).toBe("done");
  });

  it("leaves a short answer whole", () => {
    const state = chatViewReducer(started(), { type: "turn-text", text: "a\n\nb", fit });
    expect(state.items.at(-1)).toMatchObject({ kind: "user" });
  });
});
