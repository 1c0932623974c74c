// The memory cgroup this process runs in (v1 or v2): its limit, what it holds that cannot be dropped, and its OOM kills.
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";

/** What the kernel's memory cgroup says about this process's group. */
export interface CgroupMemory {
  version: 1 | 2;
  /** The group's folder in the cgroup file system. */
  dir: string;
  /** The lowest finite limit from this group up to the mount's root; undefined when none is set. */
  limitBytes: number | undefined;
  /** Charged to the group, less the inactive file cache the kernel drops before it kills (docker stats' rule). */
  usedBytes: number | undefined;
  /** The group's count of OOM kills (v2 memory.events, v1 memory.oom_control since Linux 4.13). */
  oomKills: number | undefined;
}

/** Where to read; tests point these at a fake tree. */
export interface CgroupSources {
  procSelfCgroup: string;
  mountinfo: string;
}

const PROC: CgroupSources = { procSelfCgroup: "/proc/self/cgroup", mountinfo: "/proc/self/mountinfo" };

/** A "limit" this high is no limit (v1 writes 2^63 rounded down to a page; v2 writes "max"). */
const UNLIMITED_BYTES = 2 ** 60;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function readBytes(path: string): number | undefined {
  const text = read(path)?.trim();
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** `name value` lines (memory.stat, memory.events, memory.oom_control) as a map. */
function readKeyed(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (read(path) ?? "").split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value && /^\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

interface Mount {
  root: string;
  point: string;
  version: 1 | 2;
}

/** The cgroup mounts that hold the memory controller: v1 `cgroup … memory`, and every v2 mount. */
function memoryMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const fields = left.split(" ");
    const [fstype, , superOptions = ""] = right.split(" ");
    const root = unescapeMount(fields[3] ?? "");
    const point = unescapeMount(fields[4] ?? "");
    if (fstype === "cgroup2") mounts.push({ root, point, version: 2 });
    else if (fstype === "cgroup" && superOptions.split(",").includes("memory")) mounts.push({ root, point, version: 1 });
  }
  return mounts;
}

/** mountinfo writes spaces, tabs, newlines and backslashes in paths as octal escapes. */
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The group's folder under a mount, or undefined when the group lies outside what is mounted here. */
function folderOf(mount: Mount, groupPath: string): string | undefined {
  const rel = posix.relative(mount.root, groupPath);
  if (rel.startsWith("..")) return undefined;
  return rel ? join(mount.point, rel) : mount.point;
}

/** From the group's folder up to the mount point (limits are hierarchical: the lowest one applies). */
function foldersUp(dir: string, mountPoint: string): string[] {
  const out = [dir];
  let at = dir;
  while (at !== mountPoint && at.startsWith(mountPoint + "/")) {
    at = posix.dirname(at);
    out.push(at);
  }
  return out;
}

function lowestLimit(dirs: string[], file: string): number | undefined {
  const limits = dirs.map((d) => readBytes(join(d, file))).filter((n): n is number => n !== undefined && n > 0 && n < UNLIMITED_BYTES);
  return limits.length ? Math.min(...limits) : undefined;
}

function describe(version: 1 | 2, dir: string, mountPoint: string): CgroupMemory {
  const dirs = foldersUp(dir, mountPoint);
  const v2 = version === 2;
  const stat = readKeyed(join(dir, "memory.stat"));
  const charged = readBytes(join(dir, v2 ? "memory.current" : "memory.usage_in_bytes"));
  const inactive = (v2 ? stat.get("inactive_file") : stat.get("total_inactive_file")) ?? 0;
  const oom = readKeyed(join(dir, v2 ? "memory.events" : "memory.oom_control")).get("oom_kill");
  return {
    version,
    dir,
    limitBytes: lowestLimit(dirs, v2 ? "memory.max" : "memory.limit_in_bytes"),
    usedBytes: charged === undefined ? undefined : Math.max(0, charged - inactive),
    oomKills: oom,
  };
}

/**
 * This process's memory cgroup, found through /proc/self/cgroup and the mounts of /proc/self/mountinfo (so a
 * container whose mount root is its own group, and a group made under the host's tree, both resolve); undefined
 * off Linux or where no memory controller is mounted. v1's memory hierarchy wins over v2 when both exist (hybrid).
 */
export function readCgroupMemory(sources: CgroupSources = PROC): CgroupMemory | undefined {
  const membership = read(sources.procSelfCgroup);
  const mountinfo = read(sources.mountinfo);
  if (membership === undefined || mountinfo === undefined) return undefined;
  const mounts = memoryMounts(mountinfo);
  const lines = membership.split("\n").map((l) => l.split(":")).filter((p) => p.length >= 3);
  const v1Path = lines.find(([id, controllers]) => id !== "0" && (controllers ?? "").split(",").includes("memory"))?.slice(2).join(":");
  const v2Path = lines.find(([id, controllers]) => id === "0" && controllers === "")?.slice(2).join(":");
  for (const mount of mounts.filter((m) => m.version === 1)) {
    const dir = v1Path === undefined ? undefined : folderOf(mount, v1Path);
    if (dir && read(join(dir, "memory.limit_in_bytes")) !== undefined) return describe(1, dir, mount.point);
  }
  for (const mount of mounts.filter((m) => m.version === 2)) {
    const dir = v2Path === undefined ? undefined : folderOf(mount, v2Path);
    if (dir && read(join(dir, "memory.current")) !== undefined) return describe(2, dir, mount.point);
  }
  return undefined;
}
