// After a failed start the CLI prints the brief doctor's problems under the engine's own error.
import { readdirSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { fail, ok, skip, warn } from "../../../src/host/check-result.ts";
import { formatDiagnosis } from "../../../src/commands/doctor/startup-diagnosis.ts";

describe("start-up diagnosis", () => {
  it("lists only warnings and failures, each with its fix, and nothing when all is well", () => {
    const text = formatDiagnosis([ok("node", "Node.js", "v20"), skip("nvidia", "NVIDIA GPU", "none"), warn("ram", "host RAM", "low"), fail("ascend", "Ascend NPU", "none visible", "use --device CPU")]);
    expect(text).toBe("glm-chat doctor found:\n  warn: host RAM: low\n  fail: Ascend NPU: none visible\n        fix: use --device CPU\n(glm-chat doctor checks everything)\n");
    expect(formatDiagnosis([ok("node", "Node.js", "v20")])).toBe("");
  });

  const python = process.env.GLM_CHAT_PYTHON;
  const tinyDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
  const hasNpu = (() => {
    try {
      return readdirSync("/dev").some((n) => /^davinci\d+$/.test(n));
    } catch {
      return false;
    }
  })();

  it.skipIf(!python || !tinyDir || hasNpu)("explains a failed --device Ascend start on a machine without an NPU", async () => {
    const result = await execa(process.execPath, ["bin/glm-chat.js", "-p", "hi", "--model-dir", tinyDir!, "--device", "Ascend"], { reject: false, env: { GLM_CHAT_PYTHON: python } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("glm-chat doctor found:");
    expect(result.stderr).toMatch(/fail: Ascend NPU: --device Ascend, but no npu-smi and no \/dev\/davinci\*/);
  }, 120_000);
});
