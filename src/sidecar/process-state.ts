// Whether a process is already on its way out (gone, a zombie, exiting, or with SIGKILL pending): Linux /proc only.
import { existsSync, readFileSync } from "node:fs";

/** PF_EXITING in /proc/PID/stat's flags: the kernel is tearing the process down. */
const PF_EXITING = 0x4;
/** SIGKILL's bit in /proc/PID/status's pending-signal masks. */
const SIGKILL_BIT = 1n << 8n;

/**
 * True when the process is dead or dying though its exit has not reached us yet; false when it is alive
 * (running, sleeping or stopped) or when this system has no /proc to tell.
 */
export function processIsDying(pid: number, proc = "/proc"): boolean {
  if (!existsSync(`${proc}/self`) && !existsSync(`${proc}/${pid}`)) return false; // no procfs: cannot tell
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`${proc}/${pid}/stat`, "utf8");
    status = readFileSync(`${proc}/${pid}/status`, "utf8");
  } catch {
    return true; // already reaped
  }
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags ..."; comm may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === "Z" || state === "X" || state === "x") return true;
  if ((Number(fields[6]) & PF_EXITING) !== 0) return true;
  return [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)/gm)].some((m) => (BigInt(`0x${m[1]}`) & SIGKILL_BIT) !== 0n);
}
