// The real binary refuses ChatGLM-6B on a CPU without the RAM for it, before loading anything, with numbers.
import { copyFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { estimateMemory, GLM6B_FP16_BYTES } from "../../src/model/memory-estimate.ts";
import { modelShapeOf } from "../../src/model/model-shape.ts";

const python = process.env.GLM_CHAT_PYTHON;
const tinyDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !tinyDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}

// No glm_config.json and a sparse checkpoint of the real size: to glm-chat this directory holds the real 6B model.
const modelDir = mkdtempSync(join(tmpdir(), "glm-6b-stub-"));
writeFileSync(join(modelDir, "glm_6b.ckpt"), "");
truncateSync(join(modelDir, "glm_6b.ckpt"), GLM6B_FP16_BYTES);
copyFileSync(join(tinyDir, "ice_text.model"), join(modelDir, "ice_text.model"));
afterAll(() => rmSync(modelDir, { recursive: true, force: true }));

// --precision auto takes whatever fits (int4 fits this box): float32, asked for, is what a 24 GB machine cannot hold.
describe("--device auto on a CPU", () => {
  it.skipIf(totalmem() >= estimateMemory(modelShapeOf(modelDir), "CPU", "float32").hostBytes)("refuses the 6B model in float32 with the RAM numbers and exits 1", async () => {
    const result = await execa(process.execPath, ["bin/glm-chat.js", "-p", "hi", "--model-dir", modelDir, "--device", "auto", "--precision", "float32"], { reject: false, env: { GLM_CHAT_PYTHON: python } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/needs RAM for about 30\.9 GB: 26\.8 GB weights \(float32\) .*; this machine has [\d.]+ GB .*--force.*\[DEVICE_NOT_ENOUGH_RAM\]/);
  }, 60_000);
});
