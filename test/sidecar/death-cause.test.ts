// A dead sidecar's error: out of memory only for a SIGKILL near the limit; glm-chat's own heartbeat kill stays unresponsive.
import { describe, expect, it } from "vitest";
import { deathError, isOutOfMemoryKill, OOM_NEAR_LIMIT_FRACTION, type DeathFacts } from "../../src/sidecar/death-cause.ts";
import { errorFromReply } from "../../src/sidecar/errors.ts";

const GB = 1e9;
const extras = { stderrTail: ["Killed"], logPath: "/logs/sidecar.log" };
const killed = (rssBytes: number, limitBytes: number | undefined, over: Partial<DeathFacts> = {}): DeathFacts => ({
  exit: { exitCode: undefined, signal: "SIGKILL" },
  deathReason: undefined,
  lastMemory: { rssBytes, rssPeakBytes: rssBytes },
  limitBytes,
  ...over,
});

describe("isOutOfMemoryKill", () => {
  it("is a SIGKILL with the last RSS at 85% of the limit or more", () => {
    expect(OOM_NEAR_LIMIT_FRACTION).toBe(0.85);
    expect(isOutOfMemoryKill(killed(21 * GB, 24 * GB))).toBe(true); // 87.5%
    expect(isOutOfMemoryKill(killed(0.85 * 24 * GB, 24 * GB))).toBe(true);
    expect(isOutOfMemoryKill(killed(20 * GB, 24 * GB))).toBe(false); // 83%
  });

  it("is never glm-chat's own kill, another signal, an exit code, or a death without numbers", () => {
    expect(isOutOfMemoryKill(killed(23 * GB, 24 * GB, { deathReason: "the engine stopped responding" }))).toBe(false);
    expect(isOutOfMemoryKill(killed(23 * GB, 24 * GB, { exit: { exitCode: undefined, signal: "SIGTERM" } }))).toBe(false);
    expect(isOutOfMemoryKill(killed(23 * GB, 24 * GB, { exit: { exitCode: 1, signal: undefined } }))).toBe(false);
    expect(isOutOfMemoryKill(killed(23 * GB, undefined))).toBe(false);
    expect(isOutOfMemoryKill(killed(23 * GB, 24 * GB, { lastMemory: undefined }))).toBe(false);
  });
});

describe("deathError", () => {
  it("names an out-of-memory kill with the numbers and the fix", () => {
    const e = deathError(killed(22.1 * GB, 24.7 * GB), "during the answer", extras);
    expect(e.code).toBe("SIDECAR_OUT_OF_MEMORY");
    expect(e.message).toBe("out of memory: the engine used 22.1 GB of 24.7 GB during the answer and was killed (SIGKILL); " +
      "try --precision int8 or int4, a smaller --seq-length, or a machine with more memory");
    expect(e).toMatchObject(extras);
  });

  it("keeps a SIGKILL far below the limit a plain death, with what it last used", () => {
    const e = deathError(killed(2 * GB, 24 * GB), "while loading", extras);
    expect(e.code).toBe("SIDECAR_EXITED");
    expect(e.message).toBe("the engine was killed by SIGKILL while loading (it last used 2.0 GB of 24.0 GB)");
  });

  it("keeps the heartbeat's kill unresponsive, and an exit code an exit", () => {
    const reason = "the engine stopped responding (no heartbeat for 10.2 s) and was killed";
    expect(deathError(killed(23 * GB, 24 * GB, { deathReason: reason }), "", extras)).toMatchObject({ code: "SIDECAR_UNRESPONSIVE", message: expect.stringContaining(reason) });
    expect(deathError({ exit: { exitCode: 3, signal: undefined }, deathReason: undefined, lastMemory: undefined, limitBytes: undefined }, "", extras).message)
      .toBe("the engine exited with code 3");
  });
});

describe("errorFromReply", () => {
  it("gives MindSpore's OutOfMemory its own code and words, everything else the code asked for", () => {
    const oom = errorFromReply({ ename: "OutOfMemory", evalue: "out of memory: the engine used 23.9 GB of 24.7 GB (...)" }, "ENGINE_ERROR");
    expect(oom).toMatchObject({ code: "SIDECAR_OUT_OF_MEMORY", message: "out of memory: the engine used 23.9 GB of 24.7 GB (...)" });
    expect(errorFromReply({ ename: "PromptTooLong", evalue: "600 tokens" }, "ENGINE_LOAD_FAILED")).toMatchObject({ code: "ENGINE_LOAD_FAILED", message: "PromptTooLong: 600 tokens" });
  });
});
