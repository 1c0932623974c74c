// What a GLM checkpoint costs to run: weights, KV cache, working memory and runtime, in host RAM and device memory.
import { formatBytes } from "../util/format.ts";

export type Device = "Ascend" | "GPU" | "CPU";
/** --precision; auto is float16 on Ascend/GPU and float32 on CPU. */
export type Precision = "auto" | "float16" | "float32";

/** glm_6b.ckpt: fp16 weights as MindFormers ships them. */
export const GLM6B_FP16_BYTES = 13_415_858_176;
/** GLM-6B's widths (MindFormers' GLMConfig defaults), for a checkpoint without glm_config.json. */
export const GLM6B_WIDTHS = { hidden: 4096, inner: 16384, vocab: 130528 } as const;
/** The native engine's seq_length when neither --seq-length nor glm_config.json sets one. */
export const DEFAULT_SEQ_LENGTH = 2048;

// ---- Calibrated from VmHWM of the native engine in float16 at seq_length 2048 on CPU (docs/native-engine.md):
// the tiny model 0.535 GB, one full-width layer 3.861 GB, GLM-6B 16.49 GB, each after a prompt in its longest
// bucket. Re-fit these three, and only these, when the measurements move; every estimate goes through them. ----
/** Working memory of the largest prompt graph, per token of seq_length per hidden unit. */
export const ACT_BYTES_PER_TOKEN_PER_HIDDEN = 88;
/** What each further layer leaves behind in that graph (MindSpore's CPU runtime keeps some buffers per layer). */
export const ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER = 4;
/** Python, MindSpore, the tokenizer, the CPU kernels and the small graphs, before any weight is loaded. */
export const RUNTIME_BASE_BYTES = 530_000_000;

export interface ModelShape {
  ckptBytes: number;
  layers: number;
  hidden: number;
  inner: number;
  vocab: number;
  seqLength: number;
}

export interface MemoryEstimate {
  device: Device;
  precision: "float16" | "float32";
  seqLength: number;
  weightBytes: number;
  cacheBytes: number;
  workingBytes: number;
  runtimeBytes: number;
  /** The embedding table, the largest tensor: on Ascend/GPU it passes through host RAM while loading. */
  largestTensorBytes: number;
  hostBytes: number;
  /** Ascend/GPU memory; 0 on CPU. */
  deviceBytes: number;
}

export const bytesPerElement = (precision: "float16" | "float32"): number => (precision === "float32" ? 4 : 2);

export function resolvePrecision(device: Device, precision: Precision): "float16" | "float32" {
  if (precision !== "auto") return precision;
  return device === "CPU" ? "float32" : "float16";
}

/** fp16 bytes of one GLM layer: QKV, dense and the two MLP matrices, their biases, two layer norms. */
export function bytesPerLayer(hidden: number, inner: number): number {
  const matrices = 4 * hidden * hidden + 2 * hidden * inner;
  const small = 3 * hidden + hidden + inner + hidden + 2 * 2 * hidden;
  return 2 * (matrices + small);
}

/** Layers in a checkpoint of these widths: what is left after the embedding and the LM head, per layer. */
export function inferLayers(ckptBytes: number, widths: { hidden: number; inner: number; vocab: number } = GLM6B_WIDTHS): number {
  const embeddings = 2 * widths.vocab * widths.hidden * 2;
  return Math.max(0, Math.round((ckptBytes - embeddings) / bytesPerLayer(widths.hidden, widths.inner)));
}

/** fp16 checkpoint bytes of a shape (for a model dir whose checkpoint is not there yet). */
export function checkpointBytesOf(shape: Omit<ModelShape, "ckptBytes" | "seqLength">): number {
  return 2 * shape.vocab * shape.hidden * 2 + shape.layers * bytesPerLayer(shape.hidden, shape.inner) + 2 * 2 * shape.hidden;
}

/** Host RAM on CPU = W + KV + A + R; on Ascend/GPU, host = R + the largest tensor, device = W + KV + A. */
export function estimateMemory(shape: ModelShape, device: Device, precision: Precision): MemoryEstimate {
  const p = resolvePrecision(device, precision);
  const weightBytes = p === "float32" ? 2 * shape.ckptBytes : shape.ckptBytes; // the checkpoint is float16
  const cacheBytes = 2 * shape.layers * shape.seqLength * shape.hidden * bytesPerElement(p);
  const workingBytes = shape.seqLength * shape.hidden * (ACT_BYTES_PER_TOKEN_PER_HIDDEN + shape.layers * ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER);
  const largestTensorBytes = shape.vocab * shape.hidden * 2;
  const onDevice = weightBytes + cacheBytes + workingBytes;
  return {
    device,
    precision: p,
    seqLength: shape.seqLength,
    weightBytes,
    cacheBytes,
    workingBytes,
    runtimeBytes: RUNTIME_BASE_BYTES,
    largestTensorBytes,
    hostBytes: device === "CPU" ? onDevice + RUNTIME_BASE_BYTES : RUNTIME_BASE_BYTES + largestTensorBytes,
    deviceBytes: device === "CPU" ? 0 : onDevice,
  };
}

/** "about 16.6 GB: 13.4 GB weights (float16) + 939.5 MB cache for 2,048 tokens + 1.7 GB working memory + 530.0 MB runtime" */
export function describeNeed(e: MemoryEstimate, where: "host" | "device" = e.device === "CPU" ? "host" : "device"): string {
  const f = formatBytes;
  if (where === "host" && e.device !== "CPU") {
    return `about ${f(e.hostBytes)}: ${f(e.runtimeBytes)} runtime + ${f(e.largestTensorBytes)} for the largest tensor while loading`;
  }
  const total = where === "host" ? e.hostBytes : e.deviceBytes;
  const runtime = where === "host" ? ` + ${f(e.runtimeBytes)} runtime` : "";
  return `about ${f(total)}: ${f(e.weightBytes)} weights (${e.precision}) + ${f(e.cacheBytes)} cache for ` +
    `${e.seqLength.toLocaleString("en-US")} tokens + ${f(e.workingBytes)} working memory${runtime}`;
}
