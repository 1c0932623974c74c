// ensurePythonEnv with an explicit Python: a real interpreter without MindSpore gets a clear, actionable error.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { appPaths } from "../../src/config/paths.ts";
import { SidecarError } from "../../src/sidecar/errors.ts";
import { ensurePythonEnv } from "../../src/python-env/python-env.ts";

const scratch = mkdtempSync(join(tmpdir(), "glm-pyenv-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("ensurePythonEnv with --python", () => {
  it("names the Python, the modules it lacks and the install command", async () => {
    const bare = join(scratch, "bare");
    await execa("python3", ["-m", "venv", "--without-pip", bare]);
    const python = join(bare, "bin", "python");
    const error = await ensurePythonEnv({ explicitPython: python, venvDir: join(scratch, "unused"), sidecarDir: appPaths().sidecarDir })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SidecarError);
    expect((error as SidecarError).code).toBe("PYTHON_PACKAGES_MISSING");
    const message = (error as Error).message;
    expect(message).toContain(`${python} (Python 3.`);
    expect(message).toMatch(/cannot import: zmq, msgpack, sentencepiece, mindspore/);
    expect(message).toContain(`${python} -m pip install -r ${join(appPaths().sidecarDir, "requirements.txt")} -r `);
  });

  it("says so when the given Python does not run", async () => {
    const error = await ensurePythonEnv({ explicitPython: join(scratch, "no-python"), venvDir: scratch, sidecarDir: appPaths().sidecarDir })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "PYTHON_NOT_FOUND" });
  });

  it("accepts the sidecar's own Python", async () => {
    const python = process.env.GLM_CHAT_PYTHON;
    if (!python) throw new Error("GLM_CHAT_PYTHON is unset: run the suite with `npm test`");
    const env = await ensurePythonEnv({ explicitPython: python, venvDir: scratch, sidecarDir: appPaths().sidecarDir });
    expect(env).toMatchObject({ python, managed: false });
  });
});
