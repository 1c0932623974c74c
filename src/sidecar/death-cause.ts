// Why a sidecar died, as a SidecarError: out of memory (SIGKILL near the limit), unresponsive (glm-chat killed it), or exited.
import { formatBytes } from "../util/format.ts";
import { SidecarError } from "./errors.ts";

/** A SIGKILL whose last reported RSS was at least this share of the memory limit counts as the OOM killer's. */
export const OOM_NEAR_LIMIT_FRACTION = 0.85;

export const OUT_OF_MEMORY_FIX = "try --precision int8 or int4, a smaller --seq-length, or a machine with more memory";

export interface MemoryReport {
  rssBytes: number;
  rssPeakBytes: number;
}

export interface DeathFacts {
  exit: { exitCode: number | undefined; signal: string | undefined } | undefined;
  /** Set when glm-chat killed a live sidecar (no heartbeat): never an out-of-memory death. */
  deathReason: string | undefined;
  /** The last RSS the sidecar reported (status and memory messages). */
  lastMemory: MemoryReport | undefined;
  /** What it may use: the cgroup limit, else MemTotal; read when it died. */
  limitBytes: number | undefined;
  /** The memory cgroup's OOM-kill count rose while it lived: the kernel's word that it killed for memory. */
  oomKilled?: boolean;
}

export function isOutOfMemoryKill(f: DeathFacts): boolean {
  if (f.deathReason || f.exit?.signal !== "SIGKILL") return false;
  if (f.oomKilled) return true;
  if (!f.lastMemory || !f.limitBytes) return false;
  return f.lastMemory.rssBytes >= OOM_NEAR_LIMIT_FRACTION * f.limitBytes;
}

/** The error for a sidecar that is gone; `context` says what it was doing ("while loading", "during the answer"). */
export function deathError(f: DeathFacts, context: string, extras: { stderrTail: string[]; logPath: string }): SidecarError {
  const used = f.lastMemory && f.limitBytes ? `${formatBytes(f.lastMemory.rssBytes)} of ${formatBytes(f.limitBytes)}` : undefined;
  if (isOutOfMemoryKill(f)) {
    const when = context ? ` ${context}` : "";
    const what = used ? `the engine used ${used}${when} and was killed (SIGKILL)` : `the kernel killed the engine${when} (its memory cgroup counted an OOM kill)`;
    return new SidecarError("SIDECAR_OUT_OF_MEMORY", `out of memory: ${what}; ${OUT_OF_MEMORY_FIX}`, extras);
  }
  const how = f.exit?.signal ? `was killed by ${f.exit.signal}` : `exited with code ${f.exit?.exitCode ?? "?"}`;
  const seen = used && f.exit?.signal ? ` (it last used ${used})` : "";
  const code = f.deathReason ? "SIDECAR_UNRESPONSIVE" : "SIDECAR_EXITED";
  return new SidecarError(code, `${f.deathReason ?? `the engine ${how}`} ${context}`.trim() + seen, extras);
}
