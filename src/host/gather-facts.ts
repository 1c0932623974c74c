// Collects the doctor's facts with the real probes (all read-only: nothing is created or installed).
import { existsSync, statSync } from "node:fs";
import { candidateDirs, findFiles } from "../download/find-existing.ts";
import { appPaths } from "../config/paths.ts";
import { gatherCudaFacts } from "./cuda-probe.ts";
import { join } from "node:path";
import { readMarker } from "../download/verified-marker.ts";
import { MODEL_MANIFEST, sourceUrls } from "../download/manifest.ts";
import type { DoctorFacts, ModelFileFacts } from "./doctor-facts.ts";
import { chooseDevice, type DeviceOption } from "./device-choice.ts";
import { davinciDevices, diskFree, glibcVersion, headUrl, hostRam, loadZeromq, runCommand, type RunCommand } from "./host-probes.ts";
import { modelShapeOf } from "../model/model-shape.ts";
import { lastRunFacts } from "./last-run.ts";
import { isCustomModel, type Precision } from "./memory-needs.ts";
import { PYTHON_PROBE, runCheckScript, type PythonFacts } from "./python-probe.ts";

export interface GatherOptions {
  python: { path: string; source: "explicit" | "managed" };
  modelDir: string;
  device: DeviceOption;
  deviceId: number;
  mirrors: string[];
  offline: boolean;
  precision?: Precision;
  seqLength?: number;
  /** Where the sidecar logs go: the newest one tells how the last run ended. */
  logDir?: string;
  /** Skip MindSpore's run_check (the start-up diagnosis: the sidecar already said what failed). */
  skipRunCheck?: boolean;
  run?: RunCommand;
  env?: NodeJS.ProcessEnv;
  /** python-sidecar/: where the nvcc stand-in lives (default: this package's). */
  sidecarDir?: string;
}

async function pythonFacts(path: string, source: "explicit" | "managed", run: RunCommand): Promise<DoctorFacts["python"]> {
  // An explicit Python may be a bare name found on PATH (the Docker image sets GLM_CHAT_PYTHON=python3).
  if (source === "managed" && !existsSync(path)) return { path, source, state: "absent" };
  const r = await run(path, ["-c", PYTHON_PROBE], 30_000);
  if (!r.found) return { path, source, state: "absent" };
  if (r.exitCode !== 0) return { path, source, state: "broken", error: (r.stderr || r.stdout).trim().split("\n").slice(-1)[0] ?? "" };
  try {
    return { path, source, state: "ran", facts: JSON.parse(r.stdout.trim().split("\n").at(-1)!) as PythonFacts };
  } catch {
    return { path, source, state: "broken", error: `unexpected probe output: ${r.stdout.slice(0, 200)}` };
  }
}

async function modelFiles(dir: string, env: NodeJS.ProcessEnv): Promise<ModelFileFacts[]> {
  return Promise.all(MODEL_MANIFEST.map(async ({ name }) => {
    const path = join(dir, name);
    const size = existsSync(path) ? statSync(path).size : null;
    const marker = size === null ? undefined : await readMarker(path);
    const elsewhere = size === null ? await findFiles(name, candidateDirs(env, process.cwd())) : [];
    return { name, size, verified: marker?.algorithm ?? null, elsewhere };
  }));
}

function notebookSigns(env: NodeJS.ProcessEnv, python: DoctorFacts["python"]): string[] {
  const signs = [];
  if (python.state === "ran" && python.facts.moxing) signs.push("moxing importable");
  if (existsSync("/home/ma-user")) signs.push("/home/ma-user");
  for (const name of ["PRETRAIN_MODEL_PATH", "DATASET_PATH", "MOXING_REQUIRED"]) if (env[name]) signs.push(`$${name}`);
  return signs;
}

export async function gatherFacts(o: GatherOptions): Promise<DoctorFacts> {
  const run = o.run ?? runCommand;
  const env = o.env ?? process.env;
  const [python, zeromq, npuSmi, davinci, nvidiaSmi, files] = await Promise.all([
    pythonFacts(o.python.path, o.python.source, run),
    loadZeromq(),
    run("npu-smi", ["info"], 15_000),
    davinciDevices(),
    run("nvidia-smi", ["--query-gpu=name,memory.free", "--format=csv,noheader"], 15_000),
    modelFiles(o.modelDir, o.env ?? process.env),
  ]);
  const pythonPath = python.state === "ran" ? o.python.path : undefined;
  const ms = python.state === "ran" ? python.facts.mindspore : undefined;
  const cuda = ms?.path && ms.version && (nvidiaSmi.found || o.device === "GPU")
    ? await gatherCudaFacts({ run, env, python: o.python.path, sidecarDir: o.sidecarDir ?? appPaths(env).sidecarDir, mindspore: { path: ms.path, version: ms.version, plugins: ms.plugins } })
    : undefined;
  const device = o.device === "auto"
    ? { ...(await chooseDevice({ run, davinci: async () => davinci, python: pythonPath, cuda: async () => cuda }, o.deviceId)), id: o.deviceId }
    : { target: o.device, reason: "--device", id: o.deviceId };
  const hasMindSpore = python.state === "ran" && python.facts.mindspore.path !== null;
  const runEnv = device.target === "GPU" ? cuda?.plan.env : undefined;
  const runCheck = hasMindSpore && !o.skipRunCheck ? await run(o.python.path, ["-c", runCheckScript(device.target, device.id)], 120_000, runEnv) : undefined;
  const modelExists = existsSync(o.modelDir);
  const probeUrl = sourceUrls(MODEL_MANIFEST[1]!, o.mirrors)[0]!;
  return {
    node: { version: process.version, platform: process.platform, arch: process.arch, glibc: glibcVersion() },
    zeromq,
    python,
    device,
    precision: o.precision ?? "auto",
    runCheck,
    ascend: { npuSmi, davinci, env: { ASCEND_HOME_PATH: env.ASCEND_HOME_PATH, ASCEND_TOOLKIT_HOME: env.ASCEND_TOOLKIT_HOME } },
    nvidia: { smi: nvidiaSmi },
    cuda,
    ram: hostRam(),
    disk: await diskFree(modelExists ? o.modelDir : nearestExisting(o.modelDir)),
    model: { dir: o.modelDir, exists: modelExists, custom: isCustomModel(o.modelDir), files, shape: modelShapeOf(o.modelDir, o.seqLength) },
    notebook: notebookSigns(env, python),
    mirror: o.offline ? undefined : await headUrl(probeUrl, 5_000, env),
    lastRun: o.logDir === undefined ? undefined : lastRunFacts(o.logDir),
  };
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d) && join(d, "..") !== d) d = join(d, "..");
  return d;
}
