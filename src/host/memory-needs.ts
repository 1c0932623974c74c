// The CPU RAM refusal and its fixes, with the estimator's numbers (src/model/memory-estimate.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { formatBytes } from "../util/format.ts";
import { describeNeed, estimateMemory, type ModelShape, type Precision } from "../model/memory-estimate.ts";

export type { Device, Precision } from "../model/memory-estimate.ts";

/** A model dir with glm_config.json holds a custom (e.g. the tiny test) model, not the real 6B. */
export function isCustomModel(modelDir: string): boolean {
  return existsSync(join(modelDir, "glm_config.json"));
}

export const modelLabel = (custom: boolean): string => (custom ? "this model" : "ChatGLM-6B");

export class DeviceChoiceError extends Error {
  constructor(readonly code: "DEVICE_NOT_ENOUGH_RAM" | "DEVICE_GPU_NOT_READY", message: string) {
    super(message);
    this.name = "DeviceChoiceError";
  }
}

/** What to try when the model does not fit in `totalBytes` on CPU: float16 where that fits, a shorter context, more memory. */
export function cpuRamFixes(shape: ModelShape, precision: Precision, totalBytes: number): string[] {
  const half = estimateMemory(shape, "CPU", "float16");
  const tryHalf = estimateMemory(shape, "CPU", precision).precision !== "float16" && totalBytes >= half.hostBytes;
  return [
    ...(tryHalf ? [`--precision float16 (the native engine, about ${formatBytes(half.hostBytes)})`] : []),
    `a smaller --seq-length (now ${shape.seqLength.toLocaleString("en-US")})`,
  ];
}

/** Refuses to load a model on CPU when RAM is short (unless forced): a message instead of the OOM killer. */
export function checkCpuRam(input: {
  shape: ModelShape; custom: boolean; totalBytes: number; availableBytes: number; force: boolean; precision?: Precision;
  /** Set when a memory cgroup's limit is what totalBytes holds. */
  cgroup?: { version: 1 | 2 };
}): void {
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
