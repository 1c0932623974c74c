// `--device auto`: Ascend if an NPU is visible, else GPU if nvidia-smi works and MindSpore runs on it, else CPU.
import { appPaths } from "../config/paths.ts";
import { gpuBlockers } from "./checks-cuda.ts";
import { cudaFactsOf, type CudaFacts } from "./cuda-probe.ts";
import { davinciDevices, hostRam, runCommand, type RamFacts, type RunCommand } from "./host-probes.ts";
import { modelShapeOf } from "../model/model-shape.ts";
import { chooseCpuPrecision, DeviceChoiceError, isCustomModel, type Device, type Precision } from "./memory-needs.ts";
import { choosePrecision, type PrecisionChoice } from "./precision-choice.ts";
import { RUN_CHECK_SUCCESS, runCheckFailure, runCheckScript } from "./python-probe.ts";

export type DeviceOption = Device | "auto";

export interface DeviceProbes {
  run: RunCommand;
  davinci: () => Promise<string[]>;
  /** Python for the GPU self-test; without one GPU is never picked. */
  python?: string;
  /** The GPU facts (default: gathered with `run` for `python`); undefined when unknown. */
  cuda?: () => Promise<CudaFacts | undefined>;
}

const gpuFacts = (probes: DeviceProbes, python: string): Promise<CudaFacts | undefined> =>
  probes.cuda ? probes.cuda() : cudaFactsOf({ run: probes.run, env: process.env, python, sidecarDir: appPaths().sidecarDir });

export interface DeviceChoice {
  target: Device;
  reason: string;
}

const works = async (run: RunCommand, file: string, args: string[], timeoutMs = 10_000) => {
  const r = await run(file, args, timeoutMs);
  return r.found && r.exitCode === 0;
};

export async function chooseDevice(probes: DeviceProbes, deviceId = 0): Promise<DeviceChoice> {
  if (await works(probes.run, "npu-smi", ["info"])) return { target: "Ascend", reason: "npu-smi info works" };
  const davinci = await probes.davinci();
  if (davinci.length) return { target: "Ascend", reason: `${davinci.join(", ")} present` };
  if (await works(probes.run, "nvidia-smi", ["-L"])) {
    if (!probes.python) return { target: "CPU", reason: "nvidia-smi works, but no Python to test MindSpore's GPU support" };
    // MindSpore's plugin rules first (CUDA_HOME, nvcc, libraries: docs/devices.md), then its own self-test with the sidecar's environment.
    const cuda = await gpuFacts(probes, probes.python);
    const blockers = cuda ? gpuBlockers(cuda, probes.python, deviceId) : [];
    if (blockers.length) return { target: "CPU", reason: `an NVIDIA GPU is visible, but MindSpore cannot use it: ${blockers[0]}` };
    const gpu = await probes.run(probes.python, ["-c", runCheckScript("GPU", deviceId)], 120_000, cuda?.plan.env);
    if (gpu.exitCode === 0 && RUN_CHECK_SUCCESS.test(gpu.stdout + gpu.stderr)) return { target: "GPU", reason: "nvidia-smi works and MindSpore's GPU run_check passed" };
    return { target: "CPU", reason: `an NVIDIA GPU is visible, but MindSpore's GPU run_check failed: ${runCheckFailure(`${gpu.stdout}\n${gpu.stderr}`)}` };
  }
  return { target: "CPU", reason: "no Ascend NPU or NVIDIA GPU visible" };
}

export interface ResolveDeviceInput {
  device: DeviceOption;
  deviceId: number;
  modelDir: string;
  /** The model will really be loaded (not --dry-run, not the fake engine). */
  loadsModel: boolean;
  force: boolean;
  precision?: Precision;
  /** --seq-length (GLM_CHAT_SEQ_LENGTH): the KV cache and working memory grow with it. */
  seqLength?: number;
  /** MindFormers runs float32 on CPU whatever --precision says (and --engine auto with float32 may run it). */
  engine?: "auto" | "mindformers" | "native" | "fake";
  python?: string;
}

/** A device and the precision the engine runs in there. */
export interface ResolvedDevice extends DeviceChoice {
  precision: PrecisionChoice;
}

/** The concrete device to start the sidecar on, and its precision (--precision auto: what fits); refuses a model on a
 * CPU without the RAM for it (DEVICE_NOT_ENOUGH_RAM). */
export async function resolveDevice(
  input: ResolveDeviceInput,
  probes: DeviceProbes = { run: runCommand, davinci: () => davinciDevices() },
  ram: () => RamFacts = hostRam,
): Promise<ResolvedDevice> {
  const choice = input.device !== "auto"
    ? { target: input.device, reason: "--device" }
    : !input.loadsModel
      ? { target: "CPU" as const, reason: "no model to load" }
      : await chooseDevice({ ...probes, python: probes.python ?? input.python }, input.deviceId);
  if (choice.target === "GPU" && input.device === "GPU" && input.loadsModel && input.python) {
    // --device GPU: what would make MindSpore fall back to CPU (or refuse GPU) is said now, with the fix.
    const cuda = await gpuFacts(probes, input.python);
    if (cuda && cuda.gpus.length === 0) {
      // No GPU at all: the cause and the way on, not the CUDA library advice that would matter only with one.
      throw new DeviceChoiceError("DEVICE_GPU_NOT_READY", `--device GPU, but this machine shows no NVIDIA GPU (${cuda.smiError ?? "nvidia-smi lists none"}): ` +
        "use --device CPU (or --device auto, which picks what is there), or run where a GPU is visible (in Docker: --gpus all)");
    }
    const blockers = cuda ? gpuBlockers(cuda, input.python, input.deviceId) : [];
    if (blockers.length) {
      throw new DeviceChoiceError("DEVICE_GPU_NOT_READY", `--device GPU, but MindSpore cannot use this GPU:\n  ${blockers.join("\n  ")}\n` +
        "Meanwhile --device CPU works; glm-chat doctor --device GPU shows every GPU fact.");
    }
  }
  const requested = input.precision ?? "auto";
  const mindformersOwn = choice.target === "CPU" ? "float32" : "float16";
  if (input.engine === "mindformers" && requested !== "auto" && requested !== mindformersOwn) {
    throw new DeviceChoiceError("PRECISION_NOT_FOR_ENGINE", `--engine mindformers runs GLM-6B in ${mindformersOwn} on ${choice.target}; ` +
      `--precision ${requested} needs glm-chat's native engine: leave out --engine mindformers (or use --engine native).`);
  }
  const shape = modelShapeOf(input.modelDir, input.seqLength);
  if (choice.target === "CPU" && input.loadsModel) {
    const precision = chooseCpuPrecision({ shape, custom: isCustomModel(input.modelDir), ...ram(), force: input.force, precision: requested, engine: input.engine });
    return { ...choice, precision };
  }
  // Ascend/GPU memory is not probed before start (doctor does): auto takes float16 there, as before.
  return { ...choice, precision: choosePrecision({ shape, device: choice.target, requested, engine: input.engine }) };
}
