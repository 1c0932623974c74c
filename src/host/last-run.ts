// How the last engine run ended, from the newest sidecar log: the doctor repeats an out-of-memory death and its fix.
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { ok, skip, warn, type CheckResult } from "./check-result.ts";

export interface LastRunFacts {
  logPath: string;
  /** The out-of-memory line the supervisor or the sidecar wrote into that log, without its prefix. */
  outOfMemory?: string;
}

const TAIL_BYTES = 16 * 1024;
/** "[glm-chat] out of memory: ..." (an OOM kill) or "glm_sidecar: out of memory ...: ..." (MindSpore's OutOfMemory). */
const OOM_LINE = /^(?:\[glm-chat\] |glm_sidecar: )(out of memory.*)$/gm;

/** The newest sidecar-*.log in `logDir` and its out-of-memory line, if any; undefined when nothing was logged. */
export function lastRunFacts(logDir: string): LastRunFacts | undefined {
  let names: string[];
  try {
    names = readdirSync(logDir).filter((n) => /^sidecar-.*\.log$/.test(n)).sort(); // ISO timestamps sort by time
  } catch {
    return undefined;
  }
  const newest = names.at(-1);
  if (!newest) return undefined;
  const logPath = join(logDir, newest);
  const size = statSync(logPath).size;
  const fd = openSync(logPath, "r");
  try {
    const buffer = Buffer.alloc(Math.min(size, TAIL_BYTES));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    const lines = [...buffer.toString("utf8").matchAll(OOM_LINE)];
    return { logPath, outOfMemory: lines.at(-1)?.[1] };
  } finally {
    closeSync(fd);
  }
}

export function checkLastRun(lastRun: LastRunFacts | undefined): CheckResult {
  const title = "last engine run";
  if (!lastRun) return skip("last_run", title, "no engine run logged yet");
  if (!lastRun.outOfMemory) return ok("last_run", title, `no out-of-memory in ${lastRun.logPath}`);
  const [what, fix] = lastRun.outOfMemory.split("; try ");
  return warn("last_run", title, `${what} (${lastRun.logPath})`, fix ? `try ${fix}` : undefined);
}
