// The doctor's last-run check: the newest sidecar log's out-of-memory line, with its fix; nothing to say otherwise.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkLastRun, lastRunFacts } from "../../src/host/last-run.ts";

const dir = mkdtempSync(join(tmpdir(), "glm-last-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("last engine run", () => {
  it("skips when nothing was logged", () => {
    expect(lastRunFacts(join(dir, "nowhere"))).toBeUndefined();
    expect(checkLastRun(undefined).status).toBe("skip");
  });

  it("repeats the newest log's out-of-memory death with the fix", () => {
    writeFileSync(join(dir, "sidecar-2026-01-01T10-00-00-000Z.log"), "loading\n[glm-chat] sidecar exited: code 0 signal -\n");
    writeFileSync(join(dir, "sidecar-2026-01-02T10-00-00-000Z.log"), "loading\n[glm-chat] sidecar exited: code - signal SIGKILL\n" +
      "[glm-chat] out of memory: the engine used 22.1 GB of 24.7 GB while loading and was killed (SIGKILL); try --precision int8 or int4, a smaller --seq-length, or a machine with more memory\n");
    const facts = lastRunFacts(dir)!;
    expect(facts.logPath).toContain("2026-01-02");
    const r = checkLastRun(facts);
    expect(r).toMatchObject({ status: "warn", fix: "try --precision int8 or int4, a smaller --seq-length, or a machine with more memory" });
    expect(r.detail).toMatch(/^out of memory: the engine used 22\.1 GB of 24\.7 GB while loading and was killed \(SIGKILL\) \(.*2026-01-02.*\.log\)$/);
  });

  it("finds the sidecar's own OutOfMemory line, and is ok after a clean run", () => {
    writeFileSync(join(dir, "sidecar-2026-01-03T10-00-00-000Z.log"), "glm_sidecar: out of memory: the engine used 23.9 GB of 24.7 GB (RuntimeError: Memory not enough); try a smaller --seq-length\n");
    expect(checkLastRun(lastRunFacts(dir)).detail).toMatch(/^out of memory: the engine used 23\.9 GB/);
    writeFileSync(join(dir, "sidecar-2026-01-04T10-00-00-000Z.log"), "[glm-chat] sidecar exited: code 0 signal -\n");
    expect(checkLastRun(lastRunFacts(dir)).status).toBe("ok");
  });
});
