// runOneShot's --json: the engine's first token and decode rate, also for an answer that shows no text.
import { describe, expect, it } from "vitest";
import { ChatSession } from "../../src/chat/chat-session.ts";
import { runOneShot } from "../../src/commands/one-shot.ts";
import { FakeBackend } from "../fakes/fake-backend.ts";

async function jsonOf(backend: FakeBackend): Promise<Record<string, any>> {
  let out = "";
  await runOneShot(new ChatSession(backend), "hi", { json: true, dryRun: false, write: (t) => (out += t) });
  return JSON.parse(out) as Record<string, any>;
}

describe("one-shot --json timings", () => {
  it("reports the first token and the decode rate of the tokens after it", async () => {
    // The fake's clock: first token at 120 ms, then 50 ms a token.
    const result = await jsonOf(new FakeBackend().reply("a", "b", "c", "d", "e"));
    expect(result.usage).toEqual({ prompt_tokens: 2, completion_tokens: 5 });
    expect(result.timings).toEqual({ first_token_ms: 120, total_ms: 320, decode_tokens_per_s: 20 });
  });

  it("still has a rate when the tokens decode to no text at all", async () => {
    const result = await jsonOf(new FakeBackend().reply("", "", ""));
    expect(result.answer).toBe("");
    expect(result.timings).toEqual({ first_token_ms: 120, total_ms: 220, decode_tokens_per_s: 20 });
  });

  it("has no rate for a one-token answer", async () => {
    expect((await jsonOf(new FakeBackend().reply("a"))).timings.decode_tokens_per_s).toBeNull();
  });
});

describe("one-shot --json precision", () => {
  it("says the weights' precision and why, null where the backend does not know", async () => {
    let out = "";
    const precision = () => ({ value: "int8", reason: "auto: float16 needs about 15.6 GB, more than 12.0 GB of RAM available with a 10 % margin; int8 needs about 8.3 GB" });
    await runOneShot(new ChatSession(new FakeBackend().reply("a")), "hi", { json: true, dryRun: false, write: (t) => (out += t), precision });
    expect(JSON.parse(out)).toMatchObject({ precision: "int8", precision_reason: precision().reason });
    expect(await jsonOf(new FakeBackend().reply("a"))).toMatchObject({ precision: null, precision_reason: null });
  });
});
