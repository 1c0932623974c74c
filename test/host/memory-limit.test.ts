// The sidecar's memory limit: the cgroup's limit capped by MemTotal, else MemTotal; none without /proc; the cgroup's OOM kills.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CgroupMemory } from "../../src/host/cgroup-memory.ts";
import { readMemoryLimit } from "../../src/host/memory-limit.ts";

const root = mkdtempSync(join(tmpdir(), "glm-memlimit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const meminfo = join(root, "meminfo");
writeFileSync(meminfo, "MemTotal:       24683568 kB\nMemFree:         1000000 kB\n");
const MEM_TOTAL = 24683568 * 1024;

const group = (limitBytes: number | undefined, oomKills?: number) => (): CgroupMemory =>
  ({ version: 1, dir: "/sys/fs/cgroup/memory/x", limitBytes, usedBytes: 0, oomKills });

describe("readMemoryLimit", () => {
  it("takes the cgroup's limit where it is below MemTotal, with its OOM-kill count", () => {
    expect(readMemoryLimit(group(8589934592, 3), meminfo)).toEqual({ limitBytes: 8589934592, oomKills: 3 });
  });

  it("falls back to MemTotal where the cgroup sets none, or a bigger one, or there is no cgroup", () => {
    expect(readMemoryLimit(group(undefined), meminfo).limitBytes).toBe(MEM_TOTAL);
    expect(readMemoryLimit(group(64 * 2 ** 30), meminfo).limitBytes).toBe(MEM_TOTAL);
    expect(readMemoryLimit(() => undefined, meminfo)).toEqual({ limitBytes: MEM_TOTAL, oomKills: undefined });
  });

  it("knows nothing without /proc/meminfo or a cgroup", () => {
    expect(readMemoryLimit(() => undefined, join(root, "no-meminfo")).limitBytes).toBeUndefined();
  });

  it("reads this machine's limit", () => {
    if (process.platform !== "linux") return;
    expect(readMemoryLimit().limitBytes).toBeGreaterThan(0);
  });
});
