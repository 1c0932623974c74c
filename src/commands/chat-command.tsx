// `glm-chat [options]`: the chat in Ink, or one question (-p, stdin, --json, --dry-run); offers to pull missing model files first.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CommanderError } from "commander";
import { ConversationFiles } from "../chat/conversation-files.ts";
import { SessionStore } from "../chat/session-store.ts";
import { appPaths, type AppPaths } from "../config/paths.ts";
import type { ModelError } from "../model/errors.ts";
import { checkModelFiles, defaultModelDir } from "../model/model-files.ts";
import { versionReport } from "../python-env/version-report.ts";
import { parseCliOptions, type CliOptions, type SubcommandSummary } from "./cli-options.ts";
import { oneShot, questionFromStdin } from "./one-shot.ts";
import { runPull, type PullIo } from "./pull-command.ts";
import { loadUi } from "./load-ui.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The console for the commands that write to it: stdout, stderr, and whether a person is at the terminal. */
export const consoleIo = (): PullIo => ({ stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stdout.isTTY && process.stdin.isTTY) });

/** Checks the model files; in an interactive terminal, offers to download what is missing (--yes: without asking). */
async function ensureModelFiles(options: CliOptions, interactiveTerminal: boolean): Promise<number> {
  try {
    checkModelFiles(options.modelDir);
    return 0;
  } catch (error) {
    if (!interactiveTerminal || (error as ModelError).code !== "MODEL_FILE_MISSING") throw error;
    // A --model-dir that does not exist is more likely a typo than a wish for 13.4 GB there: say so, download nothing.
    if (!existsSync(options.modelDir) && options.modelDir !== defaultModelDir(appPaths().dataDir)) throw error;
    // Only what is missing: the ways forward come from the pull, and only if it fails.
    process.stderr.write(`glm-chat: ${(error as Error).message.split("\n")[0]}\n\n`);
  }
  const code = await runPull(["--model-dir", options.modelDir, ...(options.yes ? ["--yes"] : [])], { ...consoleIo(), label: "glm-chat" });
  if (code === 0) checkModelFiles(options.modelDir);
  return code;
}

/** Runs the chat (or one question) for `argv`; `onOptions` hears the parsed options (the CLI's start-up diagnosis needs them). */
export async function runChat(argv: string[], paths: AppPaths, subcommands: readonly SubcommandSummary[], onOptions: (options: CliOptions) => void): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliOptions(argv, paths, subcommands);
    onOptions(options);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  if (options.version) {
    const report = { packageRoot: paths.packageRoot, verbose: options.verbose, explicitPython: options.python, venvDir: paths.venvDir, engine: options.engine };
    process.stdout.write(`${(await versionReport(report)).join("\n")}\n`);
    return 0;
  }
  // A question by -p, or piped on stdin, makes a one-shot run; so do --json and --dry-run.
  const piped = options.prompt === undefined && !process.stdin.isTTY;
  const isOneShot = options.prompt !== undefined || piped || options.json || options.dryRun;
  const query = options.prompt ?? (piped ? questionFromStdin(await readStdin()) : undefined);
  if (isOneShot && (query === undefined || query.trim() === "")) {
    process.stderr.write("glm-chat: no question: pass -p QUESTION, or pipe it on stdin\n");
    return 2;
  }
  if (options.engine !== "fake" && !options.dryRun) {
    const pulled = await ensureModelFiles(options, !isOneShot && Boolean(process.stdin.isTTY));
    if (pulled !== 0) return pulled;
  }
  const files = new ConversationFiles(new SessionStore(join(paths.dataDir, "sessions")), options.session);
  const history = options.session === undefined ? [] : files.resume(options.session);
  // One-shot runs are saved only into a session named with --session.
  if (isOneShot) return oneShot(options, paths, query!, options.session === undefined ? undefined : files, history);
  // The terminal UI (Ink, React) is imported only here: a one-shot run starts about 1.5 s sooner without it.
  const { interactiveChat } = await loadUi(() => import("./interactive-chat.tsx"));
  return interactiveChat(options, paths, files, history);
}
