// The process's memory cgroup: found through /proc/self/cgroup and mountinfo (v1, v2, containers), limits up the tree, usage, OOM kills.
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCgroupMemory, type CgroupSources } from "../../src/host/cgroup-memory.ts";

const root = mkdtempSync(join(tmpdir(), "glm-cgroup-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fake machine: files under `tree`, a /proc/self/cgroup and a mountinfo whose mount points lie in it. */
function machine(name: string, membership: string, mounts: string[], files: Record<string, string>): CgroupSources {
  const base = join(root, name);
  mkdirSync(base, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(base, path, ".."), { recursive: true });
    writeFileSync(join(base, path), text);
  }
  writeFileSync(join(base, "cgroup"), membership);
  const lines = mounts.map((m, i) => m.replaceAll("@", base).replace(/^/, `${30 + i} 23 0:${30 + i} `));
  writeFileSync(join(base, "mountinfo"), `25 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n${lines.join("\n")}\n`);
  return { procSelfCgroup: join(base, "cgroup"), mountinfo: join(base, "mountinfo") };
}

const V1_MOUNT = "/ @/fs/memory rw,relatime - cgroup cgroup rw,memory";
const V2_MOUNT = "/ @/fs rw,relatime - cgroup2 cgroup2 rw";
const HUGE = "9223372036854771712\n";

describe("readCgroupMemory", () => {
  it("reads a v1 group below the root: its limit, usage less inactive file cache, OOM kills", () => {
    const src = machine("v1", "4:memory:/notebook/abc\n1:cpu:/\n0::/\n", [V1_MOUNT], {
      "fs/memory/memory.limit_in_bytes": HUGE,
      "fs/memory/notebook/memory.limit_in_bytes": HUGE,
      "fs/memory/notebook/abc/memory.limit_in_bytes": "8589934592\n",
      "fs/memory/notebook/abc/memory.usage_in_bytes": "3000000000\n",
      "fs/memory/notebook/abc/memory.stat": "cache 900\ninactive_file 5\ntotal_inactive_file 1000000000\n",
      "fs/memory/notebook/abc/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
    });
    expect(readCgroupMemory(src)).toEqual({
      version: 1, dir: join(root, "v1/fs/memory/notebook/abc"), limitBytes: 8589934592, usedBytes: 2000000000, oomKills: 2,
    });
  });

  it("takes the lowest limit on the way up: a parent's limit binds its children", () => {
    const src = machine("v2-parent", "0::/user.slice/job\n", [V2_MOUNT], {
      "fs/user.slice/memory.max": "4294967296\n",
      "fs/user.slice/job/memory.max": "max\n",
      "fs/user.slice/job/memory.current": "100\n",
      "fs/user.slice/job/memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
    });
    expect(readCgroupMemory(src)).toMatchObject({ version: 2, limitBytes: 4294967296, usedBytes: 100, oomKills: 1 });
  });

  it("resolves a container whose mount root is its own group (the path in /proc/self/cgroup is the host's)", () => {
    const src = machine("docker-v1", "9:memory:/docker/0123abcd\n", ["/docker/0123abcd @/fs/memory ro,nosuid - cgroup cgroup rw,memory"], {
      "fs/memory/memory.limit_in_bytes": "2147483648\n",
      "fs/memory/memory.usage_in_bytes": "10\n",
    });
    expect(readCgroupMemory(src)).toMatchObject({ version: 1, dir: join(root, "docker-v1/fs/memory"), limitBytes: 2147483648, usedBytes: 10 });
    const ns = machine("docker-v2", "0::/\n", [V2_MOUNT], { "fs/memory.max": "1073741824\n", "fs/memory.current": "7\n" });
    expect(readCgroupMemory(ns)).toMatchObject({ version: 2, limitBytes: 1073741824, usedBytes: 7 });
  });

  it("says there is no limit where none is set, and nothing where no memory controller is mounted", () => {
    const open = machine("open", "4:memory:/\n0::/\n", [V1_MOUNT, "/ @/unified rw - cgroup2 cgroup2 rw"], {
      "fs/memory/memory.limit_in_bytes": HUGE,
      "fs/memory/memory.usage_in_bytes": "5\n",
    });
    expect(readCgroupMemory(open)).toMatchObject({ version: 1, limitBytes: undefined, usedBytes: 5, oomKills: undefined });
    // v2's true root has no memory.current: the host itself, no group to speak of.
    expect(readCgroupMemory(machine("host-v2", "0::/\n", [V2_MOUNT], { "fs/memory.max": "max\n" }))).toBeUndefined();
    expect(readCgroupMemory(machine("cpu-only", "1:cpu:/\n", ["/ @/fs/cpu rw - cgroup cgroup rw,cpu"], {}))).toBeUndefined();
    expect(readCgroupMemory({ procSelfCgroup: join(root, "missing"), mountinfo: join(root, "missing") })).toBeUndefined();
  });

  it("reads mount points with escaped spaces", () => {
    const src = machine("escaped", "4:memory:/a b\n", ["/ @/cg\\040fs rw - cgroup cgroup rw,memory"], {
      "cg fs/a b/memory.limit_in_bytes": "123456789\n",
    });
    expect(readCgroupMemory(src)?.limitBytes).toBe(123456789);
  });
});

/** A real v1 memory group needs root and a writable memory hierarchy; CI boxes and laptops often have neither. */
const V1_ROOT = "/sys/fs/cgroup/memory";
function canMakeV1Group(): boolean {
  try {
    accessSync(V1_ROOT, constants.W_OK);
    return existsSync(join(V1_ROOT, "memory.limit_in_bytes")) && process.getuid?.() === 0;
  } catch {
    return false;
  }
}

describe.runIf(canMakeV1Group())("in a real cgroup v1 group", () => {
  /** Runs `body` (ES module code, with readCgroupMemory, hostRam and readMemoryLimit in scope) as a node process inside a fresh group. */
  function insideGroup(limitBytes: number, body: string): unknown {
    const group = join(V1_ROOT, `glm-chat-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(group);
    try {
      writeFileSync(join(group, "memory.limit_in_bytes"), String(limitBytes));
      try {
        writeFileSync(join(group, "memory.memsw.limit_in_bytes"), String(limitBytes)); // no swap to hide in, where swap accounting exists
      } catch {
        // no swap accounting on this kernel: nothing to limit
      }
      const src = (name: string) => JSON.stringify(new URL(`../../src/host/${name}`, import.meta.url).pathname);
      const script = `import { readCgroupMemory } from ${src("cgroup-memory.ts")}; import { hostRam } from ${src("host-probes.ts")};
        import { readMemoryLimit } from ${src("memory-limit.ts")}; import { spawnSync } from "node:child_process";
        ${body}`;
      // The shell moves itself into the group, then becomes node: the code sees the group from inside, as glm-chat would.
      const out = execFileSync("sh", ["-c", `echo $$ > ${group}/cgroup.procs && exec "$0" --import tsx -e "$1"`, process.execPath, script], {
        encoding: "utf8",
      });
      return { group, seen: JSON.parse(out) as unknown };
    } finally {
      rmdirSync(group);
    }
  }

  it("sees the group's limit and usage, and doctor's RAM facts become the group's", () => {
    const { group, seen } = insideGroup(512 * 2 ** 20, "process.stdout.write(JSON.stringify({ cg: readCgroupMemory(), ram: hostRam() }));") as {
      group: string; seen: { cg: { dir: string; limitBytes: number; usedBytes: number }; ram: { totalBytes: number; availableBytes: number; cgroup?: { version: number } } };
    };
    expect(seen.cg.dir).toBe(group);
    expect(seen.cg.limitBytes).toBe(512 * 2 ** 20);
    expect(seen.cg.usedBytes).toBeGreaterThan(0);
    expect(seen.ram).toMatchObject({ totalBytes: 512 * 2 ** 20, cgroup: { version: 1 } });
    expect(seen.ram.availableBytes).toBeLessThan(512 * 2 ** 20);
  });

  it("counts the kernel's OOM kill of a child that outgrows the group", () => {
    const python = process.env.GLM_CHAT_PYTHON ?? "python3";
    const { seen } = insideGroup(256 * 2 ** 20, `const before = readMemoryLimit().oomKills;
      const child = spawnSync(${JSON.stringify(python)}, ["-c", "a = bytearray(1 << 30)"]);
      process.stdout.write(JSON.stringify({ before, after: readMemoryLimit().oomKills, signal: child.signal }));`) as {
      seen: { before: number; after: number; signal: string };
    };
    expect(seen.signal).toBe("SIGKILL");
    expect(seen.after).toBe(seen.before + 1);
  });
});
