// `glm-chat doctor`: parses its flags, gathers facts (read-only), runs every check, prints text or JSON, picks the exit code.
import { join } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { choiceInAnyCase } from "../option-parsers.ts";
import { precisionOption } from "../cli-options.ts";
import type { Precision } from "../../model/memory-estimate.ts";
import type { AppPaths } from "../../config/paths.ts";
import { resolveMirrors } from "../../download/manifest.ts";
import { exitCodeFor, type CheckResult } from "../../host/check-result.ts";
import { checkAscend, checkDisk, checkHostRam, checkMirror, checkModelFiles, checkNotebook, checkNvidia } from "./checks-host.ts";
import { checkCuda } from "../../host/checks-cuda.ts";
import { checkMindFormers, checkMindSpore, checkNode, checkPython, checkRunCheck, checkZeromq } from "./checks-runtime.ts";
import type { DoctorFacts } from "../../host/doctor-facts.ts";
import { gatherFacts } from "../../host/gather-facts.ts";
import { checkLastRun } from "../../host/last-run.ts";
import { renderJson, renderText } from "./render-report.ts";

export function runChecks(facts: DoctorFacts, sidecarDir: string): CheckResult[] {
  return [
    checkNode(facts),
    checkZeromq(facts),
    checkPython(facts, sidecarDir),
    checkMindSpore(facts, sidecarDir),
    checkRunCheck(facts),
    checkMindFormers(facts),
    checkAscend(facts),
    checkNvidia(facts),
    ...(facts.cuda ? checkCuda({ cuda: facts.cuda, wanted: facts.device.target === "GPU", python: facts.python.path }, facts.device.id) : []),
    checkHostRam(facts),
    checkDisk(facts),
    checkModelFiles(facts),
    checkNotebook(facts),
    checkMirror(facts),
    checkLastRun(facts.lastRun),
  ];
}

interface DoctorOptions {
  json: boolean;
  python?: string;
  modelDir: string;
  device: "auto" | "Ascend" | "GPU" | "CPU";
  deviceId: number;
  mirror: string[];
  offline: boolean;
  precision: Precision;
  seqLength?: number;
}

const wholeNumber = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

function parseDoctorOptions(argv: string[], paths: AppPaths, stderr: NodeJS.WritableStream): DoctorOptions {
  return new Command("glm-chat doctor")
    .description("Check Node, the zeromq addon, the sidecar's Python, MindSpore/MindFormers, devices, memory, disk, model files and the mirror.")
    .addOption(new Option("--json", "print the results as JSON").default(false))
    .addOption(new Option("--python <path>", "the sidecar's Python (default: the managed venv)").env("GLM_CHAT_PYTHON"))
    .addOption(new Option("--model-dir <dir>", "model directory").env("GLM_CHAT_MODEL_DIR").default(join(paths.dataDir, "models", "glm-6b")))
    .addOption(new Option("--device <target>", "device to check").choices(["auto", "Ascend", "GPU", "CPU"])
      .argParser(choiceInAnyCase("--device", ["auto", "Ascend", "GPU", "CPU"])).env("GLM_CHAT_DEVICE").default("auto"))
    .addOption(new Option("--device-id <n>", "device index").argParser(wholeNumber("--device-id")).default(0))
    .addOption(new Option("--mirror <url>", "base URL to check instead of the default source (repeatable)").argParser((v, prev: string[]) => [...prev, v]).default([]))
    .addOption(new Option("--offline", "do not check the download mirror").default(false))
    .addOption(precisionOption("the precision the memory checks assume (auto: the one a start would pick, float16 where it fits, else int8, else int4)"))
    .addOption(new Option("--seq-length <n>", "the seq_length the memory checks assume (default: glm_config.json, else 2048)")
      .env("GLM_CHAT_SEQ_LENGTH").argParser(wholeNumber("--seq-length")))
    .exitOverride()
    .configureOutput({ writeErr: (s) => stderr.write(s) })
    .parse(argv, { from: "user" })
    .opts<DoctorOptions>();
}

export async function runDoctor(argv: string[], paths: AppPaths, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  let options: DoctorOptions;
  try {
    options = parseDoctorOptions(argv, paths, io.stderr);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  const python = options.python
    ? { path: options.python, source: "explicit" as const }
    : { path: join(paths.venvDir, "bin", "python"), source: "managed" as const };
  const facts = await gatherFacts({
    python,
    modelDir: options.modelDir,
    device: options.device,
    deviceId: options.deviceId,
    mirrors: resolveMirrors(options.mirror, process.env),
    offline: options.offline,
    precision: options.precision,
    seqLength: options.seqLength,
    logDir: paths.logDir,
    sidecarDir: paths.sidecarDir,
  });
  const results = runChecks(facts, paths.sidecarDir);
  io.stdout.write(options.json ? renderJson(results, facts.device) : renderText(results, facts.device));
  return exitCodeFor(results);
}
