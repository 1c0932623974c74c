// What the sidecar may use and whether the kernel killed it for memory: its cgroup's limit and OOM kills, else MemTotal (Linux).
import { readFileSync } from "node:fs";
import { readCgroupMemory, type CgroupMemory } from "./cgroup-memory.ts";

/** Reads the memory facts when a sidecar starts and when it dies; tests inject their own. */
export type MemoryLimitReader = () => MemoryLimit;

export interface MemoryLimit {
  /** The lower of the cgroup's limit and MemTotal; undefined without /proc. */
  limitBytes: number | undefined;
  /** The cgroup's OOM-kill count: one that rose while the sidecar lived names its SIGKILL an OOM kill. */
  oomKills: number | undefined;
}

function memTotal(meminfo: string): number | undefined {
  try {
    const kb = /^MemTotal:\s+(\d+)\s*kB/m.exec(readFileSync(meminfo, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** The process's memory cgroup (found through /proc/self/cgroup: docs/design.md) capped by MemTotal. */
export function readMemoryLimit(cgroup: () => CgroupMemory | undefined = readCgroupMemory, meminfo = "/proc/meminfo"): MemoryLimit {
  const group = cgroup();
  const limits = [group?.limitBytes, memTotal(meminfo)].filter((n): n is number => n !== undefined && n > 0);
  return { limitBytes: limits.length ? Math.min(...limits) : undefined, oomKills: group?.oomKills };
}
