// What a GLM checkpoint costs to run: weights, KV cache, working memory and runtime, in host RAM and device memory.
import { formatBytes } from "../util/format.ts";

export type Device = "Ascend" | "GPU" | "CPU";
/** --precision; auto picks what fits (src/host/precision-choice.ts), so as an estimate's input it means float16. */
export type Precision = "auto" | WeightPrecision;
/** What the native engine's weights are stored in: float16/float32 tensors, or 32-weight blocks of int8/int4. */
export type WeightPrecision = "float32" | "float16" | "int8" | "int4";
export const PRECISIONS: readonly WeightPrecision[] = ["float32", "float16", "int8", "int4"];

/** glm_6b.ckpt: fp16 weights as MindFormers ships them. */
export const GLM6B_FP16_BYTES = 13_415_858_176;
/** GLM-6B's widths (MindFormers' GLMConfig defaults), for a checkpoint without glm_config.json. */
export const GLM6B_WIDTHS = { hidden: 4096, inner: 16384, vocab: 130528 } as const;
/** The native engine's seq_length when neither --seq-length nor glm_config.json sets one. */
export const DEFAULT_SEQ_LENGTH = 2048;

// ---- Working memory of the largest prompt graph and the runtime, from VmHWM of the native engine at seq_length 2048
// on CPU. float32 (and Ascend/GPU, unmeasured) keep the first fit (tiny model 0.535 GB, one full-width layer
// 3.861 GB, GLM-6B 16.49 GB, when float16 prompts still cast each weight to float32). Since the float16 prompt GEMM
// and the int8/int4 kernels no weight is cast, so CPU runs in float16/int8/int4 take the second fit (2026-12-07, box
// B): one full-width layer float16 3.53 GB; with the int8 KV cache (2026-12-08) one layer int8 1.75, int4 1.39,
// GLM-6B int8 8.37, int4 5.27 (float16 15.92 before the GEMM, whose copies it no longer makes); all within 3 %
// (docs/benchmarks.md). ----
/** Working memory of the largest prompt graph, per token of seq_length per hidden unit (float32, devices). */
export const ACT_BYTES_PER_TOKEN_PER_HIDDEN = 88;
/** What each further layer leaves behind in that graph (MindSpore's CPU runtime keeps some buffers per layer). */
export const ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER = 4;
/** The same on CPU through the kernels (float16, int8, int4): no float32 copy of a weight. */
export const KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN = 54;
export const KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER = 1.25;
/** Python, MindSpore, the tokenizer, the CPU kernels and the small graphs, before any weight is loaded. */
export const RUNTIME_BASE_BYTES = 530_000_000;

// ---- int8/int4 (docs/quantized-weights.md): a matrix is stored in blocks of 32 weights along its input with one
// float16 scale per block: 1 + 2/32 = 1.0625 bytes per weight (int8), 0.5625 (int4). On CPU the copy is mapped, not
// read: the input embedding's pages are touched only for the rows a prompt uses, so it is left out of RAM. ----
export const QUANT_BLOCK = 32;
export const QUANT_BYTES_PER_WEIGHT = { int8: 1.0625, int4: 0.5625 } as const;
/** Precisions whose estimate has been checked against measured peaks (test/e2e/real-width-memory.test.ts checks
 * float32, float16 and int8 in CI; int8/int4 at real size by bench-scale). */
export const MEASURED_PRECISIONS: readonly WeightPrecision[] = ["float32", "float16", "int8", "int4"];

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
  precision: WeightPrecision;
  seqLength: number;
  weightBytes: number;
  cacheBytes: number;
  /** What the KV cache stores (kvCacheOf). */
  cacheType: KvCacheType;
  workingBytes: number;
  runtimeBytes: number;
  /** The embedding table, the largest tensor: on Ascend/GPU it passes through host RAM while loading. */
  largestTensorBytes: number;
  hostBytes: number;
  /** Ascend/GPU memory; 0 on CPU. */
  deviceBytes: number;
}

const isQuantized = (p: WeightPrecision): p is "int8" | "int4" => p === "int8" || p === "int4";

/** int8/int4 runs on CPU keep keys and values as int8 codes with a float32 scale per row and head
 * (python-sidecar runtime.kv_cache_for; $GLM_CHAT_KV_CACHE=float, a test knob, is not counted here): 1 + 4/128 bytes per
 * value at GLM-6B's head width of 128 (a narrower test model's heads spend a little more on scales). */
export const KV_INT8_BYTES_PER_VALUE = 1 + 4 / 128;
export type KvCacheType = "int8" | "float16" | "float32";

/** How the KV cache stores its values on this device at this precision. */
export function kvCacheOf(device: Device, precision: WeightPrecision): KvCacheType {
  if (device === "CPU" && isQuantized(precision)) return "int8";
  return precision === "float32" ? "float32" : "float16";
}

const KV_BYTES: Record<KvCacheType, number> = { int8: KV_INT8_BYTES_PER_VALUE, float16: 2, float32: 4 };

/** An estimate's precision: auto stands for float16, the first choice of --precision auto on every device. */
export function resolvePrecision(_device: Device, precision: Precision): WeightPrecision {
  return precision === "auto" ? "float16" : precision;
}

/** Weights stored quantized at int8/int4: the four matrices of each layer, the LM head and the embedding, each only
 * where its rows split into whole 32-blocks (a tiny test model's k = 170 stays float16). */
export function quantizedWeightCount(shape: Omit<ModelShape, "ckptBytes" | "seqLength">): number {
  const whole = (k: number) => k % QUANT_BLOCK === 0;
  const h = shape.hidden;
  const perLayer = (whole(h) ? 3 * h * h + h * h + shape.inner * h : 0) + (whole(shape.inner) ? h * shape.inner : 0);
  return shape.layers * perLayer + (whole(h) ? 2 * shape.vocab * h : 0);
}

/** Resident weight bytes: the float16 checkpoint, doubled in float32, its quantized matrices shrunk at int8/int4. */
export function weightBytesOf(shape: ModelShape, precision: WeightPrecision): number {
  if (precision === "float32") return 2 * shape.ckptBytes;
  if (precision === "float16") return shape.ckptBytes;
  const q = quantizedWeightCount(shape);
  return Math.round(shape.ckptBytes - 2 * q + q * QUANT_BYTES_PER_WEIGHT[precision]);
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

/** The quantized copy's input embedding, which a CPU run maps but never reads whole (0 where it stays float16). */
export function mappedEmbeddingBytes(shape: Omit<ModelShape, "ckptBytes" | "seqLength">, precision: WeightPrecision): number {
  if (!isQuantized(precision) || shape.hidden % QUANT_BLOCK !== 0) return 0;
  return Math.round(shape.vocab * shape.hidden * QUANT_BYTES_PER_WEIGHT[precision]);
}

/** Host RAM on CPU = W + KV + A + R (W without a quantized copy's mapped embedding); on Ascend/GPU, host = R + the
 * largest tensor, device = W + KV + A. */
export function estimateMemory(shape: ModelShape, device: Device, precision: Precision): MemoryEstimate {
  const p = resolvePrecision(device, precision);
  const onCpuQuantized = device === "CPU" && isQuantized(p);
  const weightBytes = weightBytesOf(shape, p) - (onCpuQuantized ? mappedEmbeddingBytes(shape, p) : 0); // the checkpoint is float16
  const cacheType = kvCacheOf(device, p);
  const cacheBytes = Math.round(2 * shape.layers * shape.seqLength * shape.hidden * KV_BYTES[cacheType]);
  const perToken = device === "CPU" && p !== "float32"
    ? KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN + shape.layers * KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER
    : ACT_BYTES_PER_TOKEN_PER_HIDDEN + shape.layers * ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER;
  const workingBytes = Math.round(shape.seqLength * shape.hidden * perToken);
  const largestTensorBytes = shape.vocab * shape.hidden * 2;
  const onDevice = weightBytes + cacheBytes + workingBytes;
  return {
    device,
    precision: p,
    seqLength: shape.seqLength,
    weightBytes,
    cacheBytes,
    cacheType,
    workingBytes,
    runtimeBytes: RUNTIME_BASE_BYTES,
    largestTensorBytes,
    hostBytes: device === "CPU" ? onDevice + RUNTIME_BASE_BYTES : RUNTIME_BASE_BYTES + largestTensorBytes,
    deviceBytes: device === "CPU" ? 0 : onDevice,
  };
}

/** "about 15.6 GB: 13.4 GB weights (float16) + 939.5 MB cache for 2,048 tokens + 746.6 MB working memory + 530.0 MB runtime" */
export function describeNeed(e: MemoryEstimate, where: "host" | "device" = e.device === "CPU" ? "host" : "device"): string {
  const f = formatBytes;
  if (where === "host" && e.device !== "CPU") {
    return `about ${f(e.hostBytes)}: ${f(e.runtimeBytes)} runtime + ${f(e.largestTensorBytes)} for the largest tensor while loading`;
  }
  const total = where === "host" ? e.hostBytes : e.deviceBytes;
  const runtime = where === "host" ? ` + ${f(e.runtimeBytes)} runtime` : "";
  const cache = e.cacheType === "int8" ? "int8 cache" : "cache";
  return `about ${f(total)}: ${f(e.weightBytes)} weights (${e.precision}) + ${f(e.cacheBytes)} ${cache} for ` +
    `${e.seqLength.toLocaleString("en-US")} tokens + ${f(e.workingBytes)} working memory${runtime}`;
}
