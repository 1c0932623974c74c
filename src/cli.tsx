// Composition root: parse argv, prepare Python and model files, start the sidecar, run the chat or one question, pick exit codes.
import { join } from "node:path";
import { CommanderError } from "commander";
import { render } from "ink";
import { ChatSession } from "./chat/chat-session.ts";
import { ConversationFiles } from "./chat/conversation-files.ts";
import { questionFromStdin, runOneShot } from "./chat/one-shot.ts";
import type { ChatRound } from "./chat/prompt.ts";
import { SessionStore } from "./chat/session-store.ts";
import { parseCliOptions, type CliOptions, type SubcommandSummary } from "./cli-options.ts";
import { appPaths, type AppPaths } from "./config/paths.ts";
import { resolveDevice } from "./host/device-choice.ts";
import { runDoctor } from "./doctor/doctor-command.ts";
import { startupDiagnosis, STARTUP_FAILURE_CODES } from "./doctor/startup-diagnosis.ts";
import { runPull } from "./download/pull-command.ts";
import { runServe } from "./serve/serve-command.ts";
import { SERVE_DESCRIPTION } from "./serve/serve-options.ts";
import { ModelError } from "./model/errors.ts";
import { checkModelFiles } from "./model/model-files.ts";
import { SidecarError } from "./sidecar/errors.ts";
import { installReporter } from "./sidecar/install-progress-view.ts";
import { ensurePythonEnv } from "./python-env/python-env.ts";
import { SidecarBackend } from "./sidecar/sidecar-backend.ts";
import { versionReport } from "./python-env/version-report.ts";
import { App } from "./ui/App.tsx";
import { FileInputHistory } from "./chat/input-history-store.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Resolves once everything written to stdout has been handed to the OS (pipes write asynchronously). */
function flushStdout(): Promise<void> {
  return new Promise((resolve) => process.stdout.write("", () => resolve()));
}

async function startBackend(options: CliOptions, paths: AppPaths): Promise<SidecarBackend> {
  const env = await ensurePythonEnv({
    explicitPython: options.python,
    venvDir: paths.venvDir,
    sidecarDir: paths.sidecarDir,
    onEvent: installReporter(process.stderr, "glm-chat: ").onEvent,
    logFile: join(paths.logDir, "python-install.log"),
  });
  const loadsModel = options.engine !== "fake" && !options.dryRun;
  const device = await resolveDevice({ ...options, loadsModel, python: env.python });
  return new SidecarBackend({
    python: env.python,
    sidecarDir: paths.sidecarDir,
    modelDir: options.modelDir,
    engine: options.engine,
    deviceTarget: device.target,
    deviceId: options.deviceId,
    seqLength: options.seqLength,
    logDir: paths.logDir,
    workDir: join(paths.stateDir, "work"),
    compileCacheDir: join(paths.cacheDir, "compile"),
    precision: options.precision,
    // --dry-run needs token counts only: the sidecar loads the tokenizer, not the 13 GB model.
    extraArgs: options.dryRun ? ["--tokenizer-only"] : undefined,
  });
}

function chatSession(backend: SidecarBackend, options: CliOptions, files: ConversationFiles | undefined): ChatSession {
  return new ChatSession(backend, {
    settings: {
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      topP: options.topP,
      topK: options.topK,
      repetitionPenalty: options.repetitionPenalty,
      seed: options.seed,
      greedy: options.greedy,
    },
    truncateLongQuery: options.truncateLongQuery,
    onRecord: files && ((history) => files.autosave(history)),
  });
}

async function oneShot(options: CliOptions, paths: AppPaths, query: string, files: ConversationFiles | undefined, history: ChatRound[]): Promise<number> {
  const backend = await startBackend(options, paths);
  const session = chatSession(backend, options, options.dryRun ? undefined : files);
  session.replaceHistory(history);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  try {
    const outcome = await runOneShot(session, query, {
      json: options.json,
      dryRun: options.dryRun,
      signal: controller.signal,
      write: (text) => process.stdout.write(text),
      engine: () => backend.status().engine,
    });
    await flushStdout();
    return outcome.reason === "cancelled" ? 130 : 0;
  } finally {
    await backend.close();
  }
}

async function interactive(options: CliOptions, paths: AppPaths, files: ConversationFiles, history: ChatRound[]): Promise<number> {
  const backend = await startBackend(options, paths);
  backend.start().catch(() => {}); // load while the user types; failures show in the status line and crash panel
  const session = chatSession(backend, options, files);
  session.replaceHistory(history);
  const startNotes = options.session === undefined
    ? []
    : [history.length ? `Continuing session "${files.name}": ${history.length} ${history.length === 1 ? "round" : "rounds"}.` : `New session "${files.name}"; each turn is saved there.`];
  let exitWith: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (exitWith = resolve));
  const app = render(
    <App session={session} backend={backend} onExit={(c) => exitWith(c)} modelLabel="ChatGLM-6B" noColor={Boolean(process.env.NO_COLOR)}
      files={files} startNotes={startNotes} inputHistory={new FileInputHistory(join(paths.stateDir, "input-history.jsonl"))} />,
    { exitOnCtrlC: false },
  );
  void app.waitUntilExit().then(() => exitWith(0));
  for (const [signal, code] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) process.once(signal, () => exitWith(code));
  const code = await exited;
  app.unmount();
  await backend.close();
  return code;
}

const pullIo = () => ({ stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stdout.isTTY && process.stdin.isTTY) });

/** Checks the model files; in an interactive terminal, offers to download what is missing (--yes: without asking). */
async function ensureModelFiles(options: CliOptions, interactiveTerminal: boolean): Promise<number> {
  try {
    checkModelFiles(options.modelDir);
    return 0;
  } catch (error) {
    if (!interactiveTerminal || (error as ModelError).code !== "MODEL_FILE_MISSING") throw error;
    // Only what is missing: the ways forward come from the pull, and only if it fails.
    process.stderr.write(`glm-chat: ${(error as Error).message.split("\n")[0]}\n\n`);
  }
  const code = await runPull(["--model-dir", options.modelDir, ...(options.yes ? ["--yes"] : [])], pullIo());
  if (code === 0) checkModelFiles(options.modelDir);
  return code;
}

/** The parsed options, for the start-up diagnosis when the run fails. */
let parsedOptions: CliOptions | undefined;

/** `glm-chat NAME …`: each runs with the arguments after its name; `--help` lists them with their summaries. */
const SUBCOMMANDS: readonly (SubcommandSummary & { run(argv: string[]): Promise<number> })[] = [
  { name: "pull", summary: "download glm_6b.ckpt and ice_text.model (resumable, mirrors, finds local copies)", run: (argv) => runPull(argv, pullIo()) },
  { name: "doctor", summary: "check this machine, the Python, MindSpore, devices and model files", run: (argv) => runDoctor(argv, appPaths(), pullIo()) },
  { name: "serve", summary: SERVE_DESCRIPTION, run: (argv) => runServe(argv, appPaths(), (options) => startBackend((parsedOptions = options), appPaths())) },
];

async function main(argv: string[]): Promise<number> {
  const subcommand = SUBCOMMANDS.find((c) => c.name === argv[0]);
  if (subcommand) return subcommand.run(argv.slice(1));
  const paths = appPaths();
  let options: CliOptions;
  try {
    options = parseCliOptions(argv, paths, SUBCOMMANDS);
    parsedOptions = options;
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
  return interactive(options, paths, files, history);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (error: unknown) => {
    // The sidecar's and the model files' errors speak for themselves: their words (and the child's), no code.
    if (error instanceof ModelError) {
      process.stderr.write(`glm-chat: ${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof SidecarError) {
      process.stderr.write(`glm-chat: ${error.message}\n`);
      if (error.stderrTail.length) process.stderr.write(`${error.stderrTail.join("\n")}\n`);
      if (error.logPath) process.stderr.write(`log: ${error.logPath}\n`);
      if (parsedOptions && STARTUP_FAILURE_CODES.has(error.code)) process.stderr.write(await startupDiagnosis(parsedOptions, appPaths()));
      process.exit(1);
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof Error && typeof code === "string") {
      // An error with a stable code is one the user can act on: its words, not a stack trace.
      process.stderr.write(`glm-chat: ${error.message} [${code}]\n`);
      process.exit(1);
    }
    process.stderr.write(`glm-chat: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(70);
  },
);
