// ChatSession against the fake backend: prompts carry history, cancel and failure keep partial answers.
import { describe, expect, it } from "vitest";
import { ChatSession, ChatSessionBusyError, type TurnEvent } from "../../src/chat/chat-session.ts";
import { FakeBackend, codedError } from "../fakes/fake-backend.ts";

async function collect(events: AsyncIterable<TurnEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("ChatSession", () => {
  it("streams deltas, then done with the recorded round", async () => {
    const backend = new FakeBackend().reply("你", "好");
    const session = new ChatSession(backend, { maxNewTokens: 64 });
    const events = await collect(session.send("hi"));
    expect(events.map((e) => e.type)).toEqual(["delta", "delta", "done"]);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: "done", reason: "stop", round: { query: "hi", answer: "你好" } });
    expect(session.history).toEqual([{ query: "hi", answer: "你好" }]);
    expect(backend.turns[0]?.prompt).toBe("hi");
    expect(backend.turns[0]?.options.maxNewTokens).toBe(64);
  });

  it("sends the first round inside the second prompt", async () => {
    const backend = new FakeBackend().reply("A1").reply("A2");
    const session = new ChatSession(backend);
    await collect(session.send("Q1"));
    await collect(session.send("Q2"));
    expect(session.lastPrompt).toBe("[Round 0]\n问：Q1\n答：A1\n[Round 1]\n问：Q2\n答：");
    expect(backend.turns[1]?.prompt).toBe(session.lastPrompt);
    expect(session.history).toHaveLength(2);
  });

  it("takeLastRound() hands back the latest round for /retry; its question is then asked with the rest", async () => {
    const backend = new FakeBackend().reply("A1").reply("A2").reply("A2b");
    const session = new ChatSession(backend);
    expect(session.takeLastRound()).toBeUndefined();
    await collect(session.send("Q1"));
    await collect(session.send("Q2"));
    const round = session.takeLastRound();
    expect(round).toEqual({ query: "Q2", answer: "A2" });
    await collect(session.send(round!.query));
    expect(backend.turns[2]?.prompt).toBe(backend.turns[1]?.prompt);
    expect(session.history).toEqual([{ query: "Q1", answer: "A1" }, { query: "Q2", answer: "A2b" }]);
  });

  it("keeps the partial answer, interrupted, when the signal fires", async () => {
    const backend = new FakeBackend();
    const session = new ChatSession(backend);
    const controller = new AbortController();
    const seen: TurnEvent[] = [];
    const run = (async () => {
      for await (const event of session.send("写诗", { signal: controller.signal })) {
        seen.push(event);
        if (event.type === "delta") controller.abort();
      }
    })();
    const turn = await backend.turnAt(0);
    turn.delta("床前", "明月");
    await run;
    expect(seen.at(-1)).toMatchObject({ type: "done", reason: "cancelled", round: { interrupted: true } });
    expect(session.history).toEqual([{ query: "写诗", answer: "床前", interrupted: true }]);
    expect(session.busy).toBe(false);
  });

  it("keeps what arrived when the backend fails mid-answer, then rethrows", async () => {
    const backend = new FakeBackend().script((t) =>
      t.delta("part").fail(codedError("SIDECAR_EXITED", "The engine stopped.")),
    );
    const session = new ChatSession(backend);
    const error = await collect(session.send("q")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "SIDECAR_EXITED", message: "The engine stopped." });
    expect(session.history).toEqual([{ query: "q", answer: "part", interrupted: true }]);
    expect(session.busy).toBe(false);
  });

  it("does not record a failed or stopped turn that produced no text", async () => {
    const backend = new FakeBackend().script((t) => t.fail(codedError("SIDECAR_EXITED", "gone")));
    const session = new ChatSession(backend);
    await expect(collect(session.send("q"))).rejects.toThrow("gone");
    expect(session.history).toEqual([]);
  });

  it("records an interrupted round when the consumer stops reading", async () => {
    const backend = new FakeBackend().script((t) => t.delta("a", "b"));
    const session = new ChatSession(backend);
    for await (const event of session.send("q")) if (event.type === "delta") break;
    expect(session.history).toEqual([{ query: "q", answer: "a", interrupted: true }]);
    expect(backend.turns[0]?.ended).toBe(true);
  });

  it("clear() empties the history and the next prompt is the bare query", async () => {
    const backend = new FakeBackend().reply("A1").reply("A2");
    const session = new ChatSession(backend);
    await collect(session.send("Q1"));
    session.clear();
    expect(session.history).toEqual([]);
    await collect(session.send("Q2"));
    expect(session.lastPrompt).toBe("Q2");
  });

  it("does not record a turn that was running across clear()", async () => {
    const backend = new FakeBackend();
    const session = new ChatSession(backend);
    const run = collect(session.send("Q1"));
    const turn = await backend.turnAt(0);
    session.clear();
    turn.delta("late").finish();
    await run;
    expect(session.history).toEqual([]);
  });

  it("refuses a second turn while one is running", async () => {
    const backend = new FakeBackend();
    const session = new ChatSession(backend);
    const first = collect(session.send("Q1"));
    const turn = await backend.turnAt(0);
    await expect(collect(session.send("Q2"))).rejects.toBeInstanceOf(ChatSessionBusyError);
    turn.finish();
    await first;
    expect(backend.turns).toHaveLength(1);
  });
});
