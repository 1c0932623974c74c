// Starts the engine for a front end: the managed Python (its progress on stderr), the device choice, the sidecar; and the chat session on it.
import { join } from "node:path";
import { ChatSession } from "../chat/chat-session.ts";
import type { ConversationFiles } from "../chat/conversation-files.ts";
import type { AppPaths } from "../config/paths.ts";
import { resolveDevice } from "../host/device-choice.ts";
import { installReporter } from "../python-env/install-progress-view.ts";
import { ensurePythonEnv } from "../python-env/python-env.ts";
import { SidecarBackend } from "../sidecar/sidecar-backend.ts";
import type { CliOptions } from "./cli-options.ts";

export async function startBackend(options: CliOptions, paths: AppPaths): Promise<SidecarBackend> {
  const env = await ensurePythonEnv({
    explicitPython: options.python,
    venvDir: paths.venvDir,
    sidecarDir: paths.sidecarDir,
    mindformers: options.engine === "mindformers",
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
    precision: device.precision.precision,
    precisionReason: device.precision.reason,
    // --dry-run needs token counts only: the sidecar loads the tokenizer, not the 13 GB model.
    extraArgs: options.dryRun ? ["--tokenizer-only"] : undefined,
  });
}

/** Starts a sidecar whose load step only finds or makes the int8/int4 copy of the checkpoint (`glm-chat quantize`). */
export async function startQuantizer(options: { python?: string; modelDir: string; precision: "int8" | "int4" }, paths: AppPaths): Promise<SidecarBackend> {
  const env = await ensurePythonEnv({
    explicitPython: options.python,
    venvDir: paths.venvDir,
    sidecarDir: paths.sidecarDir,
    onEvent: installReporter(process.stderr, "glm-chat: ").onEvent,
    logFile: join(paths.logDir, "python-install.log"),
  });
  return new SidecarBackend({
    python: env.python,
    sidecarDir: paths.sidecarDir,
    modelDir: options.modelDir,
    engine: "native",
    deviceTarget: "CPU", // no device work: the copy is made by the CPU, MindSpore is not imported
    deviceId: 0,
    logDir: paths.logDir,
    workDir: join(paths.stateDir, "work"),
    extraArgs: ["--quantize-only", options.precision],
  });
}

export function chatSession(backend: SidecarBackend, options: CliOptions, files: ConversationFiles | undefined): ChatSession {
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
