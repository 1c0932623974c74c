// The real binary refuses ChatGLM-6B on a CPU without the RAM for it, before loading anything, with numbers.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { hostRamNeeded } from "../../src/doctor/memory-needs.ts";

const python = process.env.GLM_CHAT_PYTHON;
const tinyDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !tinyDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}

// No glm_config.json: to glm-chat this directory holds the real 6B model (its checkpoint is a stub).
const modelDir = mkdtempSync(join(tmpdir(), "glm-6b-stub-"));
writeFileSync(join(modelDir, "glm_6b.ckpt"), Buffer.alloc(1000));
copyFileSync(join(tinyDir, "ice_text.model"), join(modelDir, "ice_text.model"));
afterAll(() => rmSync(modelDir, { recursive: true, force: true }));

describe("--device auto on a CPU", () => {
  it.skipIf(totalmem() >= hostRamNeeded("CPU", false, null))("refuses the 6B model with the RAM numbers and exits 1", async () => {
    const result = await execa(process.execPath, ["bin/glm-chat.js", "-p", "hi", "--model-dir", modelDir, "--device", "auto"], { reject: false, env: { GLM_CHAT_PYTHON: python } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/needs about 28\.8 GB of RAM; this machine has [\d.]+ GB .*--force.*\[DEVICE_NOT_ENOUGH_RAM\]/);
  }, 60_000);
});
