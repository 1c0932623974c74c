// The CPU RAM refusal and its fixes, with the estimator's numbers (src/model/memory-estimate.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { formatBytes } from "../util/format.ts";
import { describeNeed, estimateMemory, type ModelShape, type Precision, type WeightPrecision } from "../model/memory-estimate.ts";
import { choosePrecision, PrecisionChoiceError, type PrecisionChoice } from "./precision-choice.ts";

export type { Device, Precision, WeightPrecision } from "../model/memory-estimate.ts";

/** A model dir with glm_config.json holds a custom (e.g. the tiny test) model, not the real 6B. */
export function isCustomModel(modelDir: string): boolean {
  return existsSync(join(modelDir, "glm_config.json"));
}

export const modelLabel = (custom: boolean): string => (custom ? "this model" : "ChatGLM-6B");

export class DeviceChoiceError extends Error {
  constructor(readonly code: "DEVICE_NOT_ENOUGH_RAM" | "DEVICE_GPU_NOT_READY" | "PRECISION_NOT_FOR_ENGINE", message: string) {
    super(message);
    this.name = "DeviceChoiceError";
  }
}

/** Smaller precisions, in the order a user would give up quality for memory. */
const SMALLER: readonly WeightPrecision[] = ["float32", "float16", "int8", "int4"];

/** What to try when the model does not fit in `totalBytes` on CPU: the first smaller precision that fits, a shorter context, more memory. */
export function cpuRamFixes(shape: ModelShape, precision: Precision, totalBytes: number): string[] {
  const now = estimateMemory(shape, "CPU", precision).precision;
  const smaller = SMALLER.slice(SMALLER.indexOf(now) + 1).map((p) => estimateMemory(shape, "CPU", p)).find((e) => totalBytes >= e.hostBytes);
  return [
    ...(smaller ? [`--precision ${smaller.precision} (the native engine, about ${formatBytes(smaller.hostBytes)})`] : []),
    `a smaller --seq-length (now ${shape.seqLength.toLocaleString("en-US")})`,
  ];
}

export interface CpuRamInput {
  shape: ModelShape; custom: boolean; totalBytes: number; availableBytes: number; force: boolean; precision?: Precision;
  engine?: "auto" | "mindformers" | "native" | "fake";
  /** Set when a memory cgroup's limit is what totalBytes holds. */
  cgroup?: { version: 1 | 2 };
}

/** The precision a CPU run uses: --precision auto picks by the RAM available now (choosePrecision), an explicit one is
 * checked against the RAM there is (checkCpuRam). Throws DeviceChoiceError DEVICE_NOT_ENOUGH_RAM with the numbers. */
export function chooseCpuPrecision(input: CpuRamInput): PrecisionChoice {
  const what = input.cgroup ? `available in this process's memory cgroup (v${input.cgroup.version})` : "of RAM available";
  let choice: PrecisionChoice;
  try {
    choice = choosePrecision({ shape: input.shape, device: "CPU", requested: input.precision ?? "auto", engine: input.engine, force: input.force,
      budget: { availableBytes: input.availableBytes, what }, label: `${modelLabel(input.custom)}` });
  } catch (error) {
    if (!(error instanceof PrecisionChoiceError)) throw error;
    const more = input.cgroup ? "a higher memory limit for this container or notebook" : "a machine with more memory";
    const has = input.cgroup ? `the cgroup allows ${formatBytes(input.totalBytes)} in all` : `the machine has ${formatBytes(input.totalBytes)} in all`;
    throw new DeviceChoiceError("DEVICE_NOT_ENOUGH_RAM", `--precision auto: ${error.message} (${has}). ` +
      `Use an Ascend NPU (--device Ascend), a smaller --seq-length (now ${input.shape.seqLength.toLocaleString("en-US")}), ` +
      `${more}, or --force to try int4 anyway.`);
  }
  if (!choice.auto) checkCpuRam({ ...input, precision: choice.precision });
  return choice;
}

/** Refuses to load a model on CPU when RAM is short (unless forced): a message instead of the OOM killer. */
export function checkCpuRam(input: CpuRamInput): void {
  if (input.force) return;
  const precision = input.precision ?? "auto";
  const need = estimateMemory(input.shape, "CPU", precision);
  if (input.totalBytes >= need.hostBytes) return;
  const more = input.cgroup ? "a higher memory limit for this container or notebook" : "a machine with more memory";
  const fixes = ["an Ascend NPU (--device Ascend)", ...cpuRamFixes(input.shape, precision, input.totalBytes), more];
  const has = input.cgroup ? `this process's memory cgroup (v${input.cgroup.version}) allows` : "this machine has";
  throw new DeviceChoiceError(
    "DEVICE_NOT_ENOUGH_RAM",
    `${modelLabel(input.custom)} on CPU needs RAM for ${describeNeed(need)}; ${has} ` +
      `${formatBytes(input.totalBytes)} (${formatBytes(input.availableBytes)} available). ` +
      `Use ${fixes.join(", ")}, or --force to try anyway.`,
  );
}
