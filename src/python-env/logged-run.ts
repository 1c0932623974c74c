// Runs a setup command (venv, pip) with its whole output appended to a log file and handed on line by line.
import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { execa } from "execa";

export interface LoggedRun {
  failed: boolean;
  exitCode: number | undefined;
  lastLines: string[];
  cause?: unknown;
}

/** Never throws for the command's exit status: a failure comes back with its last lines. */
export async function runLogged(file: string, args: string[], logFile: string, onLine: (line: string) => void): Promise<LoggedRun> {
  await mkdir(dirname(logFile), { recursive: true });
  await appendFile(logFile, `\n$ ${[file, ...args].join(" ")}   # ${new Date().toISOString()}\n`);
  const child = execa(file, args, { all: true, buffer: false, reject: false });
  const tail: string[] = [];
  let pending = "";
  // One append at a time, so the log keeps the output's order.
  let writing = Promise.resolve();
  child.all?.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    writing = writing.then(() => appendFile(logFile, text)).catch(() => undefined); // a full disk must not stop the install
    const lines = (pending + text).split(/\r?\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      tail.push(line.trimEnd());
      if (tail.length > 12) tail.shift();
      onLine(line);
    }
  });
  const result = await child;
  if (pending.trim()) {
    tail.push(pending.trimEnd());
    onLine(pending);
  }
  await writing;
  const failed = result.failed;
  return { failed, exitCode: result.exitCode, lastLines: failed && tail.length === 0 ? [String(result.message)] : tail.slice(-12), cause: failed ? result : undefined };
}

export function failureTail(run: LoggedRun, logFile: string): string {
  const status = run.exitCode === undefined ? "" : ` (exit ${run.exitCode})`;
  return `${status}; its last lines:\n${run.lastLines.map((l) => `  ${l}`).join("\n")}\nFull output: ${logFile}`;
}
