// Composition root: parse argv, prepare Python and model files, start the sidecar, render the chat, pick exit codes.
import { join } from "node:path";
import { CommanderError } from "commander";
import { render } from "ink";
import { ChatSession } from "./chat/chat-session.ts";
import { parseCliOptions, type CliOptions } from "./cli-options.ts";
import { appPaths } from "./config/paths.ts";
import { checkModelFiles } from "./model/model-files.ts";
import { SidecarError } from "./sidecar/errors.ts";
import { ensurePythonEnv } from "./sidecar/python-env.ts";
import { SidecarBackend } from "./sidecar/sidecar-backend.ts";
import { App } from "./ui/App.tsx";

async function main(argv: string[]): Promise<number> {
  const paths = appPaths();
  let options: CliOptions;
  try {
    options = parseCliOptions(argv, paths);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  if (options.engine === "mindformers") checkModelFiles(options.modelDir);
  if (!process.stdin.isTTY) {
    process.stderr.write("glm-chat: the chat needs an interactive terminal (stdin is not a TTY).\n");
    return 2;
  }
  const env = await ensurePythonEnv({
    explicitPython: options.python,
    venvDir: paths.venvDir,
    sidecarDir: paths.sidecarDir,
    onProgress: (line) => process.stderr.write(`glm-chat: ${line}\n`),
  });
  const backend = new SidecarBackend(
    {
      python: env.python,
      sidecarDir: paths.sidecarDir,
      modelDir: options.modelDir,
      engine: options.engine,
      deviceTarget: options.device,
      deviceId: options.deviceId,
      seqLength: options.seqLength,
      logDir: paths.logDir,
      workDir: join(paths.stateDir, "work"),
    },
    {
      doSample: !options.greedy,
      temperature: options.temperature,
      topP: options.topP,
      topK: options.topK,
      repetitionPenalty: options.repetitionPenalty,
      seed: options.seed,
    },
  );
  backend.start().catch(() => {}); // load while the user types; failures show in the status line and crash panel
  const session = new ChatSession(backend, { maxNewTokens: options.maxNewTokens });
  let exitWith: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (exitWith = resolve));
  const app = render(
    <App session={session} backend={backend} onExit={(c) => exitWith(c)} modelLabel="ChatGLM-6B" noColor={Boolean(process.env.NO_COLOR)} />,
    { exitOnCtrlC: false },
  );
  void app.waitUntilExit().then(() => exitWith(0));
  for (const [signal, code] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) process.once(signal, () => exitWith(code));
  const code = await exited;
  app.unmount();
  await backend.close();
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof SidecarError) {
      process.stderr.write(`glm-chat: ${error.message}\n`);
      if (error.stderrTail.length) process.stderr.write(`${error.stderrTail.join("\n")}\n`);
      if (error.logPath) process.stderr.write(`log: ${error.logPath}\n`);
      process.exit(1);
    }
    process.stderr.write(`glm-chat: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(70);
  },
);
