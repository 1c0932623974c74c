// `glm-chat quantize`: flags → a sidecar that only makes the int8/int4 copy of glm_6b.ckpt, its progress on stderr, where the copy is on stdout, an exit code.
import { statSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { BackendStatus } from "../chat/backend.ts";
import type { AppPaths } from "../config/paths.ts";
import { glmChatCommand } from "../config/invocation.ts";
import { defaultModelDir, modelDirIsAFile } from "../model/model-files.ts";
import type { InfoContent } from "../protocol/messages.ts";
import { PRECISION_CHOICES } from "./cli-options.ts";
import { failureText, quantizeReporter, resultText, type QuantizedPrecision } from "./quantize-view.ts";

export const QUANTIZE_SUMMARY = "make the int8 or int4 copy of glm_6b.ckpt now (--precision int8|int4 uses it; docs/quantized-weights.md)";

export interface QuantizeIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env?: NodeJS.ProcessEnv;
  /** Calls `cancel` on Ctrl+C (the default listens for SIGINT); returns what stops listening. */
  onInterrupt?: (cancel: () => void) => () => void;
}

interface QuantizeFlags {
  precision: QuantizedPrecision;
  modelDir: string;
  python?: string;
}

/** What the command drives: the supervisor's SidecarBackend, or a fake in tests. */
export interface QuantizeBackend {
  onStatus(listener: (status: BackendStatus) => void): () => void;
  start(): Promise<{ info?: InfoContent }>;
  close(): Promise<void>;
}

export type StartQuantizer = (flags: QuantizeFlags) => Promise<QuantizeBackend>;

/** int8 or int4 in any case; the other precisions are refused with why (they need no copy). */
function quantizedPrecision(value: string): QuantizedPrecision {
  const v = value.trim().toLowerCase();
  if (v === "int8" || v === "int4") return v;
  if ((PRECISION_CHOICES as readonly string[]).includes(v)) {
    const why = v === "auto" ? "--precision auto chooses when the chat starts (and uses a copy made here when it picks int8 or int4)" : `${v} is read from glm_6b.ckpt itself and needs no copy`;
    throw new InvalidArgumentError(`quantize makes int8 or int4 copies only: ${why}.`);
  }
  throw new InvalidArgumentError(`quantize makes int8 or int4 copies; got ${JSON.stringify(value)}.`);
}

function parseFlags(argv: string[], io: QuantizeIo, paths: AppPaths): QuantizeFlags {
  const program = new Command("glm-chat quantize")
    .description("Make the int8 or int4 copy of glm_6b.ckpt ahead of time (e.g. right after pull),\n" +
      "so that --precision int8 or int4 starts without making it. The copy goes beside\n" +
      "the checkpoint, or under $XDG_CACHE_HOME/glm-chat/quantized where that folder is\n" +
      "read-only; a valid copy is kept (a second run only checks it).")
    .addOption(new Option("--precision <bits>", "int8 (about 7.2 GB for GLM-6B) or int4 (about 4.0 GB)").argParser(quantizedPrecision).default("int8"))
    .addOption(new Option("--model-dir <dir>", "directory holding glm_6b.ckpt").env("GLM_CHAT_MODEL_DIR").default(defaultModelDir(paths.dataDir)))
    .addOption(new Option("--python <path>", "Python that runs the sidecar").env("GLM_CHAT_PYTHON"))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program.parse(argv, { from: "user" });
  return program.opts<QuantizeFlags>();
}

const defaultOnInterrupt: NonNullable<QuantizeIo["onInterrupt"]> = (cancel) => {
  // `on`, not `once`: execa's exit hook re-raises a SIGINT that no other listener is left to take.
  process.on("SIGINT", cancel);
  return () => process.removeListener("SIGINT", cancel);
};

/** Runs `glm-chat quantize` with the arguments after "quantize"; resolves with the exit code (0 made or found, 1 failed, 2 usage, 130 cancelled). */
export async function runQuantize(argv: string[], paths: AppPaths, io: QuantizeIo, start: StartQuantizer): Promise<number> {
  const env = io.env ?? process.env;
  const prefix = "glm-chat quantize: ";
  let flags: QuantizeFlags;
  try {
    flags = parseFlags(argv, io, paths);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const command = glmChatCommand(env);
  const notADirectory = modelDirIsAFile(flags.modelDir);
  if (notADirectory) return (io.stderr.write(`${prefix}${notADirectory.problem}: ${notADirectory.fix}\n`), 2);
  const checkpoint = join(flags.modelDir, "glm_6b.ckpt");
  if (!statSync(checkpoint, { throwIfNoEntry: false })?.isFile()) {
    io.stderr.write(`${prefix}there is no glm_6b.ckpt in ${flags.modelDir} to make the ${flags.precision} copy of\n` +
      `fix: ${command} pull --model-dir ${flags.modelDir} downloads it (or pass --model-dir where it is)\n`);
    return 1;
  }
  const reporter = quantizeReporter(io.stderr, prefix, flags.precision);
  let cancelled = false;
  let backend: QuantizeBackend | undefined;
  let stopListening = () => {};
  try {
    backend = await start(flags);
    backend.onStatus((status) => reporter.onStatus(status));
    const current = backend;
    stopListening = (io.onInterrupt ?? defaultOnInterrupt)(() => {
      cancelled = true;
      void current.close();
    });
    const sidecar = await current.start();
    reporter.finish();
    const copy = sidecar.info?.quantized_copy;
    if (!copy) throw new Error("the engine finished without saying where the copy is (is the sidecar older than this glm-chat?)");
    io.stdout.write(resultText(copy, command));
    return 0;
  } catch (error) {
    reporter.finish();
    if (cancelled) {
      await backend?.close(); // the sidecar removes its partial file on the way out (a killed one's: the next run)
      io.stderr.write(`${prefix}cancelled; the partial copy is removed\n`);
      return 130;
    }
    io.stderr.write(failureText(error, { prefix, precision: flags.precision, command, modelDir: flags.modelDir }));
    return 1;
  } finally {
    stopListening();
    await backend?.close();
  }
}
