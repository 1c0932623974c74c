// `glm-chat serve`: parse, start the sidecar with its load phases on stderr, listen, and drain on Ctrl+C / SIGTERM.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CommanderError } from "commander";
import type { BackendStatus, ChatBackend } from "../chat/backend.ts";
import { TokenCounter } from "../chat/context-budget.ts";
import { DEFAULT_GENERATION_SETTINGS, type GenerationSettings } from "../chat/generation-settings.ts";
import type { CliOptions } from "./cli-options.ts";
import type { AppPaths } from "../config/paths.ts";
import { checkModelFiles } from "../model/model-files.ts";
import { JobRunner } from "../serve/chat-job.ts";
import { EngineQueue } from "../serve/engine-queue.ts";
import { ApiServer } from "../serve/http-server.ts";
import { parseServeArgs, ServeOptionError } from "./serve-options.ts";

/** The backend serve runs on: started (start()) and closed by serve. */
export type ServeBackend = ChatBackend & { start(): Promise<unknown>; close(): Promise<void> };

export interface ServeIo {
  stderr: NodeJS.WritableStream;
  /** Resolves on the first stop request (Ctrl+C, SIGTERM); `force` on a second. */
  onStop?: (stop: () => void, force: () => void) => void;
}

function defaultsOf(options: CliOptions): GenerationSettings {
  const { maxNewTokens, temperature, topP, topK, repetitionPenalty, seed, greedy } = options;
  return { ...DEFAULT_GENERATION_SETTINGS, maxNewTokens, temperature, topP, topK, repetitionPenalty, seed, greedy };
}

/** Tells the console how the engine loads and fails, as the chat's status line does. */
function reportStatus(write: (line: string) => void): (status: BackendStatus) => void {
  let last = "";
  /** Until the first load succeeds, a failure ends the server and is reported by the caller. */
  let served = false;
  return (status) => {
    if (status.state === "ready") served = true;
    let line = "";
    if (status.state === "loading" || status.state === "starting") {
      // The sidecar's detail names its phase ("checkpoint 40% (5.2 GB)"); progress is shown in quarters.
      const step = status.progress === undefined ? "" : ` ${Math.floor(status.progress * 4) * 25}%`;
      line = `loading: ${status.progress === undefined ? (status.detail ?? status.phase ?? "") : `${status.phase ?? ""}${step}`}`;
    } else if (status.state === "crashed" && served) {
      line = `the engine stopped: ${status.detail ?? "unknown cause"}${status.logPath ? ` (log: ${status.logPath})` : ""}; the next request restarts it`;
    } else if (status.state === "ready" && last !== "" && !last.startsWith("engine ready") && !last.startsWith("serving")) {
      line = `engine ready: ${status.engine ?? "?"} on ${status.device ?? "?"}${status.precision ? `, ${status.precision.value} (${status.precision.reason})` : ""}`;
    }
    if (line && line !== last) write(line);
    if (line) last = line;
    if (status.state === "busy") last = "serving";
  };
}

function packageVersion(paths: AppPaths): string {
  try {
    return (JSON.parse(readFileSync(join(paths.packageRoot, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "0.0.0";
  }
}

const defaultOnStop: NonNullable<ServeIo["onStop"]> = (stop, force) => {
  let count = 0;
  const onSignal = () => (++count === 1 ? stop() : force());
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
};

export async function runServe(argv: string[], paths: AppPaths, startBackend: (options: CliOptions) => Promise<ServeBackend>, io: ServeIo = { stderr: process.stderr }): Promise<number> {
  const say = (line: string) => io.stderr.write(`glm-chat: ${line}\n`);
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(argv, paths);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ServeOptionError) return (say(error.message), 2);
    throw error;
  }
  const { serve, cli } = parsed;
  if (cli.engine !== "fake") checkModelFiles(cli.modelDir);
  const backend = await startBackend(cli);
  backend.onStatus(reportStatus(say));
  const queue = new EngineQueue(serve.maxQueue);
  const runner = new JobRunner(backend, new TokenCounter((text) => backend.countTokens(text)), queue);
  let modelBytes = 0;
  try {
    modelBytes = statSync(join(cli.modelDir, "glm_6b.ckpt")).size;
  } catch {
    // the fake engine has no checkpoint
  }
  const server = new ApiServer(
    { runner, defaults: defaultsOf(cli), status: () => backend.status(), startedAt: new Date(), version: packageVersion(paths), modelBytes },
    { apiKey: serve.apiKey, cors: serve.cors, log: say },
  );
  let address: { host: string; port: number };
  try {
    address = await server.listen(serve.port, serve.host);
  } catch (error) {
    await backend.close();
    const code = (error as { code?: string }).code;
    say(`cannot listen on ${serve.host}:${serve.port}: ${code === "EADDRINUSE" ? "the port is in use (pick another with --port)" : (error as Error).message}`);
    return 1;
  }
  const base = `http://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
  say(`listening on ${base} (OpenAI API: ${base}/v1, Ollama API: ${base}/api, health: ${base}/health); loading the model`);

  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  (io.onStop ?? defaultOnStop)(() => stopRequested(), () => {
    say("stopping now: the answer in progress is cut off");
    server.cutOff();
  });
  try {
    await Promise.race([backend.start(), stopped]);
    const status = backend.status();
    if (status.state === "ready") say(`ready: ChatGLM-6B on ${status.device ?? "?"} (${status.engine ?? "?"}${status.precision ? `, ${status.precision.value}` : ""}), seq_length ${status.seqLength ?? "?"}; ${serve.apiKey ? "API key required" : "no API key"}`);
    await stopped;
    say(queue.running ? "stopping: finishing the answer in progress (Ctrl+C again to cut it off)" : "stopping");
  } finally {
    await server.close();
    await backend.close();
  }
  say("stopped");
  return 0;
}
