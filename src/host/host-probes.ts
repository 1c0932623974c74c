// The doctor's real probes: short commands with a timeout, /dev/davinci*, RAM, disk, the zeromq addon, a HEAD request.
import { readdir } from "node:fs/promises";
import { freemem, totalmem } from "node:os";
import { readCgroupMemory, type CgroupMemory } from "./cgroup-memory.ts";
import { execa } from "execa";
import { request } from "undici";
import { createDispatcher } from "../download/http-source.ts";
import { freeBytes } from "../download/disk-space.ts";

export interface CommandOutcome {
  /** false when the program is not on PATH (or not executable). */
  found: boolean;
  exitCode: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** `env` is added to this process's environment (PATH in it also decides where `file` is looked up). */
export type RunCommand = (file: string, args: string[], timeoutMs: number, env?: Record<string, string | undefined>) => Promise<CommandOutcome>;

export const runCommand: RunCommand = async (file, args, timeoutMs, env) => {
  const r = await execa(file, args, { reject: false, timeout: timeoutMs, stdin: "ignore", env });
  const code = (r as { code?: string }).code;
  const found = !(r.failed && (code === "ENOENT" || code === "EACCES") && r.exitCode === undefined);
  return { found, exitCode: r.exitCode ?? null, timedOut: Boolean(r.timedOut), stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
};

/** /dev/davinci0, /dev/davinci1, ... (not davinci_manager): the NPUs this container can see. */
export async function davinciDevices(devDir = "/dev"): Promise<string[]> {
  const names = await readdir(devDir).catch(() => [] as string[]);
  return names.filter((n) => /^davinci\d+$/.test(n)).map((n) => `${devDir}/${n}`);
}

export interface RamFacts {
  /** What this process may use: the host's RAM, or its memory cgroup's limit where that is lower. */
  totalBytes: number;
  availableBytes: number;
  /** Set when a memory cgroup (a container, a notebook) limits this process below the host's RAM. */
  cgroup?: { version: 1 | 2; limitBytes: number; usedBytes: number | undefined; hostTotalBytes: number };
}

/** The host's RAM (MemAvailable) seen through this process's memory cgroup, whose limit binds first where it is lower. */
export function ramWithin(host: { totalBytes: number; availableBytes: number }, group: CgroupMemory | undefined): RamFacts {
  if (!group?.limitBytes || group.limitBytes >= host.totalBytes) return { ...host };
  const freeInGroup = Math.max(0, group.limitBytes - (group.usedBytes ?? 0));
  return {
    totalBytes: group.limitBytes,
    availableBytes: Math.min(host.availableBytes, freeInGroup),
    cgroup: { version: group.version, limitBytes: group.limitBytes, usedBytes: group.usedBytes, hostTotalBytes: host.totalBytes },
  };
}

export const hostRam = (): RamFacts => ramWithin({ totalBytes: totalmem(), availableBytes: freemem() }, readCgroupMemory());

export async function diskFree(dir: string): Promise<{ dir: string; freeBytes: number } | { dir: string; error: string }> {
  try {
    return { dir, freeBytes: await freeBytes(dir) };
  } catch (error) {
    return { dir, error: (error as Error).message };
  }
}

export type ZeromqFacts = { loaded: true; libzmq: string } | { loaded: false; error: string };

export async function loadZeromq(): Promise<ZeromqFacts> {
  try {
    const zmq = await import("zeromq");
    return { loaded: true, libzmq: zmq.version };
  } catch (error) {
    return { loaded: false, error: (error as Error).message.split("\n").slice(0, 3).join(" ") };
  }
}

/** The C library the running Node was built against, as Node reports it (undefined on musl/macOS). */
export function glibcVersion(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

export type MirrorFacts = { url: string; status: number; ms: number } | { url: string; error: string; ms: number };

/** HEAD with a short timeout through the same proxy-aware dispatcher the downloader uses. */
export async function headUrl(url: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<MirrorFacts> {
  const started = Date.now();
  const dispatcher = createDispatcher(env);
  try {
    const res = await request(url, { method: "HEAD", dispatcher, signal: AbortSignal.timeout(timeoutMs), maxRedirections: 3 });
    await res.body.dump();
    return { url, status: res.statusCode, ms: Date.now() - started };
  } catch (error) {
    const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
    const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : [e.message, e.code ?? e.cause?.code].filter(Boolean).join(" ");
    return { url, error: why, ms: Date.now() - started };
  } finally {
    await dispatcher.close().catch(() => {});
  }
}
