// The status line's words: engine state per state, and tokens/s and time to first token.
import { describe, expect, it } from "vitest";
import type { BackendStatus } from "../../src/chat/backend.ts";
import { describeBackendState, describeTurnStats } from "../../src/ui/status-text.ts";

describe("describeBackendState", () => {
  const cases: [BackendStatus, boolean, string][] = [
    [{ state: "starting" }, false, "starting"],
    [{ state: "loading", detail: "shard 2/8" }, false, "loading: shard 2/8"],
    [{ state: "loading" }, true, "loading"],
    // The supervisor's detail names the phase itself: said once, not "loading checkpoint 0%: checkpoint 0%".
    [{ state: "loading", phase: "checkpoint", progress: 0, detail: "checkpoint 0%" }, false, "loading checkpoint 0%"],
    [{ state: "loading", phase: "import", detail: "import (mindspore)" }, false, "loading import (mindspore)"],
    [{ state: "crashed", detail: "CheckpointInvalid: …", restartable: false }, false, "model not loaded"],
    [{ state: "ready" }, false, "ready"],
    [{ state: "ready" }, true, "generating"],
    [{ state: "busy" }, false, "generating"],
    [{ state: "crashed", detail: "exit 1" }, false, "engine crashed"],
    [{ state: "stopped" }, false, "engine stopped"],
  ];
  it.each(cases)("%j generating=%s → %s", (status, generating, expected) => {
    expect(describeBackendState(status, generating)).toBe(expected);
  });
});

describe("describeTurnStats", () => {
  const stats = (completionTokens: number, firstTokenMs: number, totalMs: number) => ({
    reason: "stop" as const,
    usage: { promptTokens: 10, completionTokens },
    timings: { firstTokenMs, totalMs },
  });

  it("counts the tokens after the first over the time after the first", () => {
    expect(describeTurnStats(stats(11, 400, 2400))).toBe("5.0 tok/s · first token 400 ms");
  });

  it("leaves out the rate with a single token, and everything with none", () => {
    expect(describeTurnStats(stats(1, 1500, 1500))).toBe("first token 1.5 s");
    expect(describeTurnStats(stats(0, 0, 30))).toBe("");
  });
});
