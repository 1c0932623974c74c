// How much memory ChatGLM-6B needs in the precision each device runs it, and the CPU refusal with numbers.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { formatBytes } from "../download/disk-space.ts";

/** glm_6b.ckpt: fp16 weights as MindFormers ships them. */
export const GLM6B_FP16_BYTES = 13_415_858_176;
/** Graph, KV cache, tokenizer and Python on top of the weights. */
export const HEADROOM_BYTES = 2_000_000_000;

export type Device = "Ascend" | "GPU" | "CPU";

/** A model dir with glm_config.json holds a custom (e.g. the tiny test) model, not the real 6B. */
export function isCustomModel(modelDir: string): boolean {
  return existsSync(join(modelDir, "glm_config.json"));
}

/**
 * Host RAM the sidecar needs. On CPU MindSpore runs GLM in fp32 (weights doubled); on Ascend/GPU the
 * checkpoint is still read whole into host memory while loading. `ckptBytes` sizes a custom model.
 */
export function hostRamNeeded(device: Device, custom: boolean, ckptBytes: number | null): number {
  const fp16 = custom ? (ckptBytes ?? 0) : GLM6B_FP16_BYTES;
  const weights = device === "CPU" ? fp16 * 2 : fp16;
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
export function checkCpuRam(input: { custom: boolean; totalBytes: number; availableBytes: number; force: boolean }): void {
  if (input.custom || input.force) return;
  const needed = hostRamNeeded("CPU", false, null);
  if (input.totalBytes >= needed) return;
  throw new DeviceChoiceError(
    "DEVICE_NOT_ENOUGH_RAM",
    `ChatGLM-6B on CPU runs in fp32 and needs about ${formatBytes(needed)} of RAM; this machine has ` +
      `${formatBytes(input.totalBytes)} (${formatBytes(input.availableBytes)} available). ` +
      "Use an Ascend NPU (--device Ascend), a machine with more memory, or --force to try anyway.",
  );
}
