// The memory the sidecar may use: the cgroup's limit where one is set and finite, else MemTotal (Linux; undefined elsewhere).
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Reads the limit when a sidecar dies; tests inject their own. */
export type MemoryLimitReader = () => number | undefined;

/** A cgroup "limit" this high is no limit (cgroup v1 writes 2^63 rounded down to a page). */
const UNLIMITED_BYTES = 2 ** 60;

function readNumber(path: string): number | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    return /^\d+$/.test(text) ? Number(text) : undefined; // cgroup v2 says "max" when there is none
  } catch {
    return undefined;
  }
}

function memTotal(meminfo: string): number | undefined {
  try {
    const kb = /^MemTotal:\s+(\d+)\s*kB/m.exec(readFileSync(meminfo, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** cgroup v2 memory.max or v1 memory.limit_in_bytes when finite, capped by MemTotal; undefined without /proc. */
export function readMemoryLimit(cgroupRoot = "/sys/fs/cgroup", meminfo = "/proc/meminfo"): number | undefined {
  const limits = [readNumber(join(cgroupRoot, "memory.max")), readNumber(join(cgroupRoot, "memory", "memory.limit_in_bytes")), memTotal(meminfo)]
    .filter((n): n is number => n !== undefined && n > 0 && n < UNLIMITED_BYTES);
  return limits.length ? Math.min(...limits) : undefined;
}
