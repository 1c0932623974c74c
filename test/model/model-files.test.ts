// checkModelFiles: missing files and directories are named with their URL and where they must go.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkModelFiles } from "../../src/model/model-files.ts";
import { SidecarError } from "../../src/sidecar/errors.ts";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(fn: () => void): SidecarError {
  try {
    fn();
  } catch (e) {
    return e as SidecarError;
  }
  throw new Error("expected an error");
}

describe("checkModelFiles", () => {
  it("names each missing file, its download URL and its destination", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    writeFileSync(join(dir, "ice_text.model"), "x");
    const error = errorOf(() => checkModelFiles(dir));
    expect(error.code).toBe("MODEL_FILE_MISSING");
    expect(error.message).toContain(`curl -L -C - -o ${join(dir, "glm_6b.ckpt")} https://`);
    expect(error.message).not.toContain("ice_text.model: ");
  });

  it("says when the directory itself is missing", () => {
    dir = join(tmpdir(), "glm-model-does-not-exist");
    expect(errorOf(() => checkModelFiles(dir)).message).toMatch(/model directory .* does not exist/);
  });

  it("accepts a directory holding both files", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    for (const name of ["glm_6b.ckpt", "ice_text.model"]) writeFileSync(join(dir, name), "x");
    expect(() => checkModelFiles(dir)).not.toThrow();
  });
});
