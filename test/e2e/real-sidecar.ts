// What the end-to-end tests need from `npm test`: the sidecar's Python and the tiny model directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appPaths } from "../../src/config/paths.ts";
import type { SidecarLaunch } from "../../src/sidecar/supervisor.ts";

const scratch = mkdtempSync(join(tmpdir(), "glm-chat-e2e-"));

/** Removes the work and log dirs of every launch made by this test file; call in afterAll. */
export function removeLaunchDirs(): void {
  rmSync(scratch, { recursive: true, force: true });
}

export function realSidecarLaunch(overrides: Partial<SidecarLaunch> = {}): SidecarLaunch {
  const python = process.env.GLM_CHAT_PYTHON;
  const modelDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
  if (!python || !modelDir) {
    throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
  }
  const work = mkdtempSync(join(scratch, "run-"));
  return {
    python,
    sidecarDir: appPaths().sidecarDir,
    modelDir,
    engine: "mindformers",
    deviceTarget: "CPU",
    deviceId: 0,
    logDir: join(work, "logs"),
    workDir: work,
    ...overrides,
  };
}
