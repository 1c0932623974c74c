// The sidecar's memory limit: a finite cgroup limit (v2 or v1) capped by MemTotal, else MemTotal; none without /proc.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readMemoryLimit } from "../../src/host/memory-limit.ts";

const root = mkdtempSync(join(tmpdir(), "glm-memlimit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const meminfo = join(root, "meminfo");
writeFileSync(meminfo, "MemTotal:       24683568 kB\nMemFree:         1000000 kB\n");
const MEM_TOTAL = 24683568 * 1024;

function cgroup(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe("readMemoryLimit", () => {
  it("takes a finite cgroup v2 memory.max, or v1 limit_in_bytes", () => {
    expect(readMemoryLimit(cgroup("v2", { "memory.max": "8589934592\n" }), meminfo)).toBe(8589934592);
    expect(readMemoryLimit(cgroup("v1", { "memory/memory.limit_in_bytes": "4294967296\n" }), meminfo)).toBe(4294967296);
  });

  it("falls back to MemTotal where the cgroup sets none, or a bigger one", () => {
    expect(readMemoryLimit(cgroup("v2-max", { "memory.max": "max\n" }), meminfo)).toBe(MEM_TOTAL);
    expect(readMemoryLimit(cgroup("v1-unlimited", { "memory/memory.limit_in_bytes": "9223372036854771712\n" }), meminfo)).toBe(MEM_TOTAL);
    expect(readMemoryLimit(cgroup("v2-huge", { "memory.max": String(64 * 2 ** 30) }), meminfo)).toBe(MEM_TOTAL);
    expect(readMemoryLimit(cgroup("none", {}), meminfo)).toBe(MEM_TOTAL);
  });

  it("knows nothing without /proc/meminfo or a cgroup", () => {
    expect(readMemoryLimit(join(root, "nowhere"), join(root, "no-meminfo"))).toBeUndefined();
  });

  it("reads this machine's limit", () => {
    if (process.platform !== "linux") return;
    expect(readMemoryLimit()).toBeGreaterThan(0);
  });
});
