// Turn plumbing in the app: waiting on a loading engine, coalesced re-renders, abort on unmount.
import { cleanup } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { FLUSH_INTERVAL_MS } from "../../src/ui/useChatTurn.ts";
import { renderApp } from "./render-app.tsx";

afterEach(() => cleanup());

describe("chat turns in the app", () => {
  it("a question asked while the engine loads waits and shows the load state", async () => {
    const app = renderApp({ state: "loading", detail: "shard 3/8" });
    await app.see("● loading: shard 3/8");
    await app.ask("early question");
    await app.see("› early question", "waiting for the engine (loading: shard 3/8)");
    app.backend.setStatus({ state: "ready" });
    const turn = await app.backend.turnAt(0);
    turn.delta("answer").finish();
    await app.see("answer", "● ready");
  });

  it("coalesces a burst of deltas into a few renders", async () => {
    const app = renderApp();
    await app.ask("q");
    const turn = await app.backend.turnAt(0);
    await app.see("…");
    const framesBefore = app.frames.length;
    const startedAt = Date.now();
    // Each delta in its own macrotask, as from a socket; uncoalesced, that is one frame per delta.
    turn.spaced = true;
    turn.delta(...Array.from({ length: 90 }, (_, i) => `${i % 10}`));
    await app.see("0123456789".repeat(9));
    // Coalesced, the text is handed on at most once per interval, so the frames are bounded by the time it took
    // (a few frames per flush), not by the number of deltas: a bound that holds on a busy machine too.
    const flushes = Math.ceil((Date.now() - startedAt) / FLUSH_INTERVAL_MS) + 1;
    expect(app.frames.length - framesBefore).toBeLessThanOrEqual(Math.min(89, 3 * flushes));
    turn.finish();
  });

  it("unmounting stops a running answer and unsubscribes from status", async () => {
    const app = renderApp();
    expect(app.backend.listenerCount).toBe(1);
    await app.ask("q");
    const turn = await app.backend.turnAt(0);
    app.unmount();
    expect(turn.options.signal?.aborted).toBe(true);
    expect(app.backend.listenerCount).toBe(0);
  });
});
