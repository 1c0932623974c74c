// `glm-chat pull`: flags → pullModelFiles, progress as Ink bars, plain lines or JSON lines, and an exit code.
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { glmChatCommand } from "../config/invocation.ts";
import { appPaths } from "../config/paths.ts";
import { defaultModelDir, missingModelFiles, modelDirIsAFile, waysToGetModelFiles } from "../model/model-files.ts";
import type { renderDownloadProgress } from "../ui/DownloadProgress.tsx";
import { formatBytes } from "../util/format.ts";
import { DownloadError } from "../download/errors.ts";
import type { PullEvent, PullPlan } from "../download/events.ts";
import { resolveMirrors } from "../download/manifest.ts";
import { plainLine, reducePullView, type PullView } from "../download/progress-view.ts";
import { pullModelFiles, type PullOptions } from "../download/pull.ts";
import { loadUi } from "./load-ui.ts";

export interface PullIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: boolean;
  /** For the confirmation question; process.stdin when absent. */
  stdin?: NodeJS.ReadableStream;
  env?: NodeJS.ProcessEnv;
  /** What error lines start with: "glm-chat pull" (the default), or "glm-chat" when the chat's start-up pulls. */
  label?: string;
}

interface PullFlags {
  modelDir: string;
  mirror: string[];
  connections: number;
  sha256: Record<string, string>;
  json: boolean;
  yes: boolean;
  copy: boolean;
  link: boolean;
  stallTimeout: number;
}

const positiveInt = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
  return n;
};

function addPin(value: string, pins: Record<string, string>): Record<string, string> {
  const m = /^([^=]+)=([0-9a-fA-F]{64})$/.exec(value);
  if (!m?.[1] || !m[2]) throw new InvalidArgumentError("expected FILE=HEX with a 64-digit SHA-256, e.g. glm_6b.ckpt=ab12…");
  return { ...pins, [m[1]]: m[2].toLowerCase() };
}

function parseFlags(argv: string[], io: PullIo, env: NodeJS.ProcessEnv): PullFlags {
  const program = new Command("glm-chat pull")
    .description("Download (or find and verify) glm_6b.ckpt and ice_text.model into the model dir.")
    .addOption(new Option("--model-dir <dir>", "where the model files go").env("GLM_CHAT_MODEL_DIR").default(join(appPaths(env).dataDir, "models", "glm-6b")))
    .option("--mirror <url>", "base URL serving the same file names; repeatable, tried in order (also GLM_CHAT_MIRROR=a,b)", (v: string, all: string[]) => [...all, v], [])
    .addOption(new Option("--connections <n>", "parallel connections per file").argParser(positiveInt("--connections", 64)).default(8))
    .option("--sha256 <file=hex>", "expected SHA-256 of a file; repeatable", addPin, {})
    .option("--json", "one JSON event per line on stdout", false)
    .option("--yes", "do not ask before downloading", false)
    .addOption(new Option("--link", "symlink a file found elsewhere on this machine (default)").conflicts("copy"))
    .addOption(new Option("--copy", "copy a file found elsewhere on this machine instead of linking it"))
    .addOption(new Option("--stall-timeout <s>", "seconds without a byte before a connection is retried").argParser(positiveInt("--stall-timeout", 3600)).default(30))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program.parse(argv, { from: "user" });
  return program.opts<PullFlags>();
}

async function ask(plan: PullPlan, io: PullIo): Promise<boolean> {
  const rl = createInterface({ input: io.stdin ?? process.stdin, output: io.stdout });
  try {
    const answer = await rl.question(`Write ${formatBytes(plan.needed_bytes)} into ${plan.model_dir}? [Y/n] `);
    return /^(y|yes)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

interface ProgressSink {
  /** Source failures already on the screen (their first lines), so the final error does not say them again. */
  shown?: Set<string>;
  onEvent(e: PullEvent): void;
  /** Clears the live display (before a question on the terminal); the next event draws it again. */
  pause(): void;
  finish(): void;
}

/** Chooses the progress output: JSON lines, Ink bars on a terminal (Ink imported only then), or plain lines. */
async function progressSink(flags: PullFlags, io: PullIo): Promise<ProgressSink> {
  const idle = () => undefined;
  if (flags.json) return { onEvent: (e) => io.stdout.write(`${JSON.stringify(e)}\n`), pause: idle, finish: idle };
  let view: PullView = { files: [] };
  const shown = new Set<string>();
  if (!io.isTTY) {
    const deciles = new Map<string, number>();
    const onEvent = (e: PullEvent) => {
      view = reducePullView(view, e, Date.now());
      const line = plainLine(e, view, deciles);
      if (line) io.stdout.write(`${line}\n`);
      if (line && (e.type === "probe_failed" || e.type === "mirror_failed")) shown.add(e.message.split("\n")[0]!.trim());
    };
    return { shown, onEvent, pause: idle, finish: idle };
  }
  const { renderDownloadProgress: render } = await loadUi(() => import("../ui/DownloadProgress.tsx"));
  let ink: ReturnType<typeof renderDownloadProgress> | null = null;
  const stop = () => {
    // What stays on the screen: each file's last note (a source's failure, say).
    if (ink) for (const f of view.files) if (f.note) shown.add(f.note.trim());
    ink?.finish();
    ink = null;
  };
  const onEvent = (e: PullEvent) => {
    view = reducePullView(view, e, Date.now());
    ink ??= render(io.stdout as NodeJS.WriteStream);
    ink.update(view);
  };
  return { shown, onEvent, pause: stop, finish: stop };
}

/** The error's text less the source failures already on the screen; its first line says they are above. */
function unrepeated(message: string, shown: ReadonlySet<string> | undefined): string {
  const [headline = "", ...rest] = message.split("\n");
  const left = rest.filter((line) => !shown?.has(line.trim()));
  if (rest.length === 0 || left.length === rest.length) return message;
  const above = rest.length - left.length === 1 ? "the reason is above" : "the reasons are above";
  return [`${headline.replace(/:$/, "")} (${above})${left.length ? ":" : ""}`, ...left].join("\n");
}

const SOURCE_FAILURES: ReadonlySet<DownloadError["code"]> = new Set(["DOWNLOAD_NETWORK", "DOWNLOAD_PROXY", "DOWNLOAD_HTTP", "DOWNLOAD_STALLED", "DOWNLOAD_NO_SOURCE"]);

/** pull's closing line: how to chat with the files, and the quantized copy for a machine short of memory. */
function nextSteps(modelDir: string, env: NodeJS.ProcessEnv): string {
  const dir = modelDir === defaultModelDir(appPaths(env).dataDir) ? "" : ` --model-dir ${modelDir}`;
  const command = glmChatCommand(env);
  return `next: ${command}${dir} to chat; short of memory? ${command} quantize${dir} --precision int8 (or int4) makes the smaller copy now`;
}

/** Runs `glm-chat pull` with the arguments after "pull"; resolves with the exit code (0 ok, 1 failed, 2 usage, 130 cancelled). */
export async function runPull(argv: string[], io: PullIo): Promise<number> {
  const env = io.env ?? process.env;
  let flags: PullFlags;
  try {
    flags = parseFlags(argv, io, env);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const notADirectory = modelDirIsAFile(flags.modelDir);
  if (notADirectory) {
    io.stderr.write(`${io.label ?? "glm-chat pull"}: ${notADirectory.problem}: ${notADirectory.fix}\n`);
    return 2;
  }
  const cancel = new AbortController();
  const onSigint = () => cancel.abort();
  process.once("SIGINT", onSigint);
  const sink = await progressSink(flags, io);
  const options: PullOptions = {
    modelDir: flags.modelDir,
    connections: flags.connections,
    sha256: flags.sha256,
    foundFiles: flags.copy ? "copy" : "link",
    stallTimeoutMs: flags.stallTimeout * 1000,
    env,
    signal: cancel.signal,
    confirm: io.isTTY && !flags.yes && !flags.json ? (plan) => (sink.pause(), ask(plan, io)) : undefined,
  };
  try {
    options.mirrors = resolveMirrors(flags.mirror, env);
    await pullModelFiles(options, (e) => sink.onEvent(e));
    sink.finish();
    if (!flags.json && !io.label) io.stdout.write(`${nextSteps(flags.modelDir, env)}\n`); // the chat's own pull goes on into the chat
    return 0;
  } catch (err) {
    sink.finish();
    const e = err instanceof DownloadError ? err : new DownloadError("DOWNLOAD_NETWORK", String(err), { cause: err });
    if (flags.json) io.stdout.write(`${JSON.stringify({ type: "error", code: e.code, file: e.file ?? null, message: e.message })}\n`);
    io.stderr.write(`${io.label ?? "glm-chat pull"}: ${flags.json ? e.message : unrepeated(e.message, sink.shown)}\n`);
    // No source answered (offline, DNS, proxy, HTTP): say what works from here instead.
    if (err instanceof DownloadError && SOURCE_FAILURES.has(e.code) && !flags.json) io.stderr.write(`${waysToGetModelFiles(flags.modelDir, missingModelFiles(flags.modelDir), true)}\n`);
    return e.isCancelled ? 130 : 1;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}
