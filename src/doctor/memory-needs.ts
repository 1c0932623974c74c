// How much memory ChatGLM-6B needs in the precision each device runs it, and the CPU refusal with numbers.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { formatBytes } from "../download/disk-space.ts";

/** glm_6b.ckpt: fp16 weights as MindFormers ships them. */
export const GLM6B_FP16_BYTES = 13_415_858_176;
/** Graph, KV cache, tokenizer and Python on top of the weights. */
export const HEADROOM_BYTES = 2_000_000_000;

export type Device = "Ascend" | "GPU" | "CPU";
/** The native engine's --precision; auto is float16 on Ascend/GPU and float32 on CPU. */
export type Precision = "auto" | "float16" | "float32";

/** A model dir with glm_config.json holds a custom (e.g. the tiny test) model, not the real 6B. */
export function isCustomModel(modelDir: string): boolean {
  return existsSync(join(modelDir, "glm_config.json"));
}

/**
 * Host RAM the sidecar needs. On CPU GLM runs in fp32 (weights doubled) unless --precision float16; on
 * Ascend/GPU the checkpoint still passes through host memory while loading. `ckptBytes` sizes a custom model.
 */
export function hostRamNeeded(device: Device, custom: boolean, ckptBytes: number | null, precision: Precision = "auto"): number {
  const fp16 = custom ? (ckptBytes ?? 0) : GLM6B_FP16_BYTES;
  const weights = device === "CPU" && precision !== "float16" ? fp16 * 2 : fp16;
  return custom ? weights + HEADROOM_BYTES / 4 : weights + HEADROOM_BYTES;
}

/** Device memory an Ascend/GPU card needs for the fp16 model. */
export function deviceMemoryNeeded(custom: boolean, ckptBytes: number | null): number {
  return (custom ? (ckptBytes ?? 0) : GLM6B_FP16_BYTES) + HEADROOM_BYTES / 2;
}

export class DeviceChoiceError extends Error {
  constructor(readonly code: "DEVICE_NOT_ENOUGH_RAM", message: string) {
    super(message);
    this.name = "DeviceChoiceError";
  }
}

/** Refuses to load the real 6B model on CPU when RAM is short (unless forced): a message instead of the OOM killer. */
export function checkCpuRam(input: { custom: boolean; totalBytes: number; availableBytes: number; force: boolean; precision?: Precision }): void {
  if (input.custom || input.force) return;
  const precision = input.precision ?? "auto";
  const needed = hostRamNeeded("CPU", false, null, precision);
  if (input.totalBytes >= needed) return;
  const half = hostRamNeeded("CPU", false, null, "float16");
  const tryHalf = precision !== "float16" && input.totalBytes >= half
    ? `--precision float16 (the native engine, about ${formatBytes(half)}), ` : "";
  throw new DeviceChoiceError(
    "DEVICE_NOT_ENOUGH_RAM",
    `ChatGLM-6B on CPU runs in ${precision === "float16" ? "fp16" : "fp32"} and needs about ${formatBytes(needed)} of RAM; this machine has ` +
      `${formatBytes(input.totalBytes)} (${formatBytes(input.availableBytes)} available). ` +
      `Use an Ascend NPU (--device Ascend), ${tryHalf}a machine with more memory, or --force to try anyway.`,
  );
}
