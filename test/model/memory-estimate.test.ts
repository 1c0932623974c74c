// The memory estimate against hand-computed numbers: the tiny model, a 1-layer full-width checkpoint, GLM-6B.
import { describe, expect, it } from "vitest";
import {
  ACT_BYTES_PER_TOKEN_PER_HIDDEN, ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER, bytesPerLayer, checkpointBytesOf, describeNeed, estimateMemory, GLM6B_FP16_BYTES,
  inferLayers, KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN, KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER, mappedEmbeddingBytes, MEASURED_PRECISIONS, QUANT_BYTES_PER_WEIGHT, quantizedWeightCount, RUNTIME_BASE_BYTES,
  weightBytesOf, type ModelShape,
} from "../../src/model/memory-estimate.ts";

const GLM6B: ModelShape = { ckptBytes: GLM6B_FP16_BYTES, layers: 28, hidden: 4096, inner: 16384, vocab: 130528, seqLength: 2048 };
const ONE_LAYER: ModelShape = { ...GLM6B, ckptBytes: 2_550_000_000, layers: 1 };
const TINY: ModelShape = { ckptBytes: 370_698, layers: 2, hidden: 64, inner: 170, vocab: 832, seqLength: 256 };

describe("the constants the estimate is calibrated by", () => {
  it("are the values fitted to the measured peaks (test/e2e/real-width-memory.test.ts checks two sizes against them)", () => {
    expect([ACT_BYTES_PER_TOKEN_PER_HIDDEN, ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER, RUNTIME_BASE_BYTES]).toEqual([88, 4, 530_000_000]);
    expect([KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN, KERNEL_ACT_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER]).toEqual([54, 1.25]);
  });
});

describe("layers from a checkpoint's size", () => {
  it("finds GLM-6B's 28 layers in glm_6b.ckpt, to the byte", () => {
    // 2 * (4*4096^2 + 2*4096*16384 + 9*4096 + 16384) = 402,759,680 bytes per layer
    expect(bytesPerLayer(4096, 16384)).toBe(402_759_680);
    expect(inferLayers(GLM6B_FP16_BYTES)).toBe(28);
    // embedding + LM head (2 * 130528*4096*2) + 28 layers + the final layer norm is exactly the shipped file
    expect(checkpointBytesOf(GLM6B)).toBe(GLM6B_FP16_BYTES);
  });

  it("finds 1 layer in a 2.55 GB full-width checkpoint, and none in a stub", () => {
    expect(inferLayers(2_550_000_000)).toBe(1);
    expect(inferLayers(1000)).toBe(0);
  });
});

describe("estimateMemory", () => {
  it("GLM-6B on CPU: float32 and float16 (what auto stands for in an estimate)", () => {
    const fp32 = estimateMemory(GLM6B, "CPU", "float32");
    expect(fp32).toMatchObject({
      precision: "float32",
      weightBytes: 26_831_716_352, // the float16 checkpoint, doubled
      cacheBytes: 1_879_048_192, // 2 * 28 * 2048 * 4096 * 4
      workingBytes: 1_677_721_600, // 2048 * 4096 * (88 + 28 * 4)
      hostBytes: 30_918_486_144, // + 530 MB runtime
      deviceBytes: 0,
    });
    const fp16 = estimateMemory(GLM6B, "CPU", "float16");
    // the kernels' working memory: 2048 * 4096 * (54 + 28 * 1.25), no float32 copy of a weight
    expect(fp16).toMatchObject({ weightBytes: 13_415_858_176, cacheBytes: 939_524_096, workingBytes: 746_586_112, hostBytes: 15_631_968_384 });
    expect(estimateMemory(GLM6B, "CPU", "auto")).toEqual(fp16);
  });

  it("GLM-6B in int8 and int4 on CPU: 1.0625 and 0.5625 bytes per quantized weight, less the mapped embedding", () => {
    // quantized: 28 * (4 * 4096^2 + 2 * 4096 * 16384) + 2 * 130528 * 4096 = 6,706,429,952 weights; the rest stays float16
    expect(quantizedWeightCount(GLM6B)).toBe(6_706_429_952);
    const rest = GLM6B_FP16_BYTES - 2 * 6_706_429_952; // biases and LayerNorms: 2,998,272 bytes
    expect(weightBytesOf(GLM6B, "int8")).toBe(rest + 7_125_581_824); // the copy's weights
    expect(mappedEmbeddingBytes(GLM6B, "int8")).toBe(568_057_856); // 130528 * 4096 * 1.0625, left on disk
    const working = 746_586_112;
    const int8 = estimateMemory(GLM6B, "CPU", "int8");
    const int8Cache = 484_442_112; // 2 * 28 * 2048 * 32 heads * (128 codes + a 4-byte scale)
    expect(int8).toMatchObject({ precision: "int8", weightBytes: rest + 7_125_581_824 - 568_057_856, cacheBytes: int8Cache, cacheType: "int8", workingBytes: working });
    expect(int8.hostBytes).toBe(rest + 7_125_581_824 - 568_057_856 + int8Cache + working + RUNTIME_BASE_BYTES);
    const int4 = estimateMemory(GLM6B, "CPU", "int4");
    expect(int4.weightBytes).toBe(rest + 3_772_366_848 - 300_736_512);
    expect(describeNeed(int4)).toBe("about 5.2 GB: 3.5 GB weights (int4) + 484.4 MB int8 cache for 2,048 tokens + 746.6 MB working memory + 530.0 MB runtime");
    // off CPU the same weights keep a float16 cache (no kernel there reads int8 rows)
    expect(estimateMemory(GLM6B, "Ascend", "int4")).toMatchObject({ cacheBytes: 939_524_096, cacheType: "float16" });
    expect(QUANT_BYTES_PER_WEIGHT).toEqual({ int8: 1.0625, int4: 0.5625 });
  });

  it("CPU estimates through the kernels stay within 10 % of the peaks bench-scale measured (box B, 1,700-token prompt, seq_length 2048)", () => {
    // int8/int4 with their int8 KV cache (2026-12-08); float16's one layer from 2026-12-07
    const measured = [[GLM6B, "int8", 8_370_442_240], [GLM6B, "int4", 5_268_766_720], [{ ...ONE_LAYER, ckptBytes: 2_541_348_054 }, "float16", 3_530_000_000],
      [{ ...ONE_LAYER, ckptBytes: 2_541_348_054 }, "int8", 1_745_354_752], [{ ...ONE_LAYER, ckptBytes: 2_541_348_054 }, "int4", 1_392_095_232]] as const;
    for (const [shape, precision, peak] of measured) {
      expect(Math.abs(estimateMemory(shape, "CPU", precision).hostBytes - peak) / peak).toBeLessThan(0.1);
    }
    expect(MEASURED_PRECISIONS).toEqual(["float32", "float16", "int8", "int4"]);
  });

  it("on Ascend/GPU a quantized copy goes to device memory whole, with float16's working memory", () => {
    const gpu = estimateMemory(GLM6B, "GPU", "int8");
    expect(gpu.weightBytes).toBe(weightBytesOf(GLM6B, "int8"));
    expect(gpu.workingBytes).toBe(1_677_721_600);
  });

  it("keeps a matrix whose rows do not split into 32-blocks in float16 (the tiny model's 4h-to-h, k = 170)", () => {
    expect(quantizedWeightCount(TINY)).toBe(2 * (4 * 64 * 64 + 170 * 64) + 2 * 832 * 64);
    const int8 = estimateMemory(TINY, "CPU", "int8");
    expect(int8.weightBytes).toBe(Math.round(370_698 - 2 * quantizedWeightCount(TINY) + 1.0625 * quantizedWeightCount(TINY)) - 832 * 64 * 1.0625);
  });

  it("GLM-6B on Ascend/GPU: the model in device memory, the runtime and the embedding in host RAM", () => {
    const ascend = estimateMemory(GLM6B, "Ascend", "auto");
    expect(ascend).toMatchObject({ precision: "float16", deviceBytes: 16_033_103_872, hostBytes: 1_599_285_376 }); // 530 MB + 130528*4096*2
    expect(estimateMemory(GLM6B, "GPU", "float32").deviceBytes).toBe(26_831_716_352 + 1_879_048_192 + 1_677_721_600);
  });

  it("a 1-layer full-width checkpoint on CPU", () => {
    expect(estimateMemory(ONE_LAYER, "CPU", "float16").hostBytes).toBe(2_550_000_000 + 33_554_432 + 463_470_592 + 530_000_000);
    expect(estimateMemory(ONE_LAYER, "CPU", "float32").hostBytes).toBe(5_100_000_000 + 67_108_864 + 771_751_936 + 530_000_000);
  });

  it("the tiny model: the runtime, next to nothing else", () => {
    const tiny = estimateMemory(TINY, "CPU", "float32");
    expect(tiny).toMatchObject({ weightBytes: 741_396, cacheBytes: 262_144, workingBytes: 256 * 64 * (88 + 2 * 4) });
    expect(tiny.hostBytes).toBe(532_576_404);
  });

  it("grows with seq_length: the cache and the working memory", () => {
    const short = estimateMemory({ ...GLM6B, seqLength: 512 }, "CPU", "float16");
    expect(short.cacheBytes).toBe(939_524_096 / 4);
    expect(short.workingBytes).toBe(512 * 4096 * (54 + 28 * 1.25));
  });
});

describe("describeNeed", () => {
  it("breaks the total down in words", () => {
    expect(describeNeed(estimateMemory(GLM6B, "CPU", "float16"))).toBe(
      "about 15.6 GB: 13.4 GB weights (float16) + 939.5 MB cache for 2,048 tokens + 746.6 MB working memory + 530.0 MB runtime");
    expect(describeNeed(estimateMemory(GLM6B, "GPU", "auto"))).toBe(
      "about 16.0 GB: 13.4 GB weights (float16) + 939.5 MB cache for 2,048 tokens + 1.7 GB working memory");
    expect(describeNeed(estimateMemory(GLM6B, "Ascend", "auto"), "host")).toBe(
      "about 1.6 GB: 530.0 MB runtime + 1.1 GB for the largest tensor while loading");
  });
});
