// A model directory's shape: glm_config.json first, else GLM-6B's widths with the layers the checkpoint's size implies.
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GLM6B_FP16_BYTES } from "../../src/model/memory-estimate.ts";
import { modelShapeOf } from "../../src/model/model-shape.ts";

const root = mkdtempSync(join(tmpdir(), "glm-shape-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function modelDir(name: string, ckptBytes?: number, config?: object): string {
  const dir = join(root, name);
  mkdirSync(dir);
  if (ckptBytes !== undefined) {
    writeFileSync(join(dir, "glm_6b.ckpt"), "");
    truncateSync(join(dir, "glm_6b.ckpt"), ckptBytes); // sparse: no disk used
  }
  if (config) writeFileSync(join(dir, "glm_config.json"), JSON.stringify(config));
  return dir;
}

describe("modelShapeOf", () => {
  it("reads a tiny model's widths, layers and seq_length from glm_config.json", () => {
    const dir = modelDir("tiny", 370_698, { num_layers: 2, hidden_size: 64, inner_hidden_size: 170, vocab_size: 832, seq_length: 256, num_heads: 4 });
    expect(modelShapeOf(dir)).toEqual({ ckptBytes: 370_698, layers: 2, hidden: 64, inner: 170, vocab: 832, seqLength: 256 });
    expect(modelShapeOf(dir, 128).seqLength).toBe(128);
  });

  it("sizes a checkpoint without glm_config.json with GLM-6B's widths: 28 layers, or 1 in a 2.55 GB file", () => {
    expect(modelShapeOf(modelDir("real", GLM6B_FP16_BYTES))).toEqual({ ckptBytes: GLM6B_FP16_BYTES, layers: 28, hidden: 4096, inner: 16384, vocab: 130528, seqLength: 2048 });
    expect(modelShapeOf(modelDir("one-layer", 2_550_000_000), 512)).toMatchObject({ layers: 1, seqLength: 512 });
  });

  it("assumes the real GLM-6B where the checkpoint is not there yet, and ignores a broken glm_config.json", () => {
    expect(modelShapeOf(join(root, "nowhere"))).toMatchObject({ ckptBytes: GLM6B_FP16_BYTES, layers: 28 });
    const broken = modelDir("broken", GLM6B_FP16_BYTES);
    writeFileSync(join(broken, "glm_config.json"), "{not json");
    expect(modelShapeOf(broken)).toMatchObject({ layers: 28, hidden: 4096 });
  });

  it("matches the tiny test model's own glm_config.json", () => {
    const tiny = process.env.GLM_CHAT_TINY_MODEL_DIR;
    if (!tiny) return;
    const shape = modelShapeOf(tiny);
    expect(shape.layers).toBeGreaterThan(0);
    expect(shape.hidden).toBeLessThan(4096);
  });
});
