// processIsDying against real processes (running, stopped, zombie, reaped) and hand-made /proc entries (exiting, SIGKILL pending).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { processIsDying } from "../../src/sidecar/process-state.ts";

const linux = process.platform === "linux";
const root = mkdtempSync(join(tmpdir(), "glm-proc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeProc(pid: number, state: string, flags: number, sigPnd = "0000000000000000", shdPnd = "0000000000000000"): string {
  const dir = join(root, "proc");
  mkdirSync(join(dir, String(pid)), { recursive: true });
  mkdirSync(join(dir, "self"), { recursive: true });
  writeFileSync(join(dir, String(pid), "stat"), `${pid} (python (sidecar)) ${state} 1 ${pid} ${pid} 0 -1 ${flags} 0 0 0\n`);
  writeFileSync(join(dir, String(pid), "status"), `Name:\tpython\nState:\t${state}\nSigPnd:\t${sigPnd}\nShdPnd:\t${shdPnd}\n`);
  return dir;
}

describe.runIf(linux)("processIsDying with real processes", () => {
  it("is false for a running and for a stopped (frozen) process", async () => {
    const child = execa("sleep", ["30"]);
    try {
      expect(processIsDying(child.pid!)).toBe(false);
      process.kill(child.pid!, "SIGSTOP");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(processIsDying(child.pid!)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await child.catch(() => {});
    }
  });

  it("is true for a zombie no one has reaped, and for a pid that is gone", async () => {
    // The backgrounded `sleep 0.2` becomes the child of `sleep 30` (after exec), which never reaps it. It must
    // outlive the exec: a child that exits before it can be reaped by sh itself (seen once in CI with `true`).
    const parent = execa("sh", ["-c", "sleep 0.2 & echo $!; exec sleep 30"], { buffer: false });
    try {
      const zombie = await new Promise<number>((resolve) => parent.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(readFileSync(`/proc/${zombie}/stat`, "utf8")).toMatch(/\) Z /); // the premise: a zombie, not yet reaped
      expect(processIsDying(zombie)).toBe(true);
    } finally {
      parent.kill("SIGKILL");
      await parent.catch(() => {});
    }
    expect(processIsDying(parent.pid!)).toBe(true);
  });
});

describe("processIsDying with hand-made /proc entries", () => {
  it("sees PF_EXITING and a pending SIGKILL, per thread or shared", () => {
    expect(processIsDying(101, fakeProc(101, "R", 0x400100))).toBe(false);
    expect(processIsDying(102, fakeProc(102, "D", 0x400104))).toBe(true);
    expect(processIsDying(103, fakeProc(103, "R", 0x400100, "0000000000000100"))).toBe(true);
    expect(processIsDying(104, fakeProc(104, "S", 0x400100, "0000000000000000", "0000000000000100"))).toBe(true);
    expect(processIsDying(105, fakeProc(105, "S", 0x400100, "0000000000004000"))).toBe(false); // SIGTERM pending only
  });

  it("cannot tell (false) on a system without /proc", () => {
    expect(processIsDying(1, join(root, "no-proc"))).toBe(false);
  });
});
