// checkModelFiles: missing files and directories are named with where they must go and the ways to get them there.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkModelFiles, missingModelFiles, waysToGetModelFiles } from "../../src/model/model-files.ts";
import { ModelError } from "../../src/model/errors.ts";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(fn: () => void): ModelError {
  try {
    fn();
  } catch (e) {
    return e as ModelError;
  }
  throw new Error("expected an error");
}

describe("checkModelFiles", () => {
  it("names each missing file and lists the ways forward: copy (where), mirror, download, demo, pull --help", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    writeFileSync(join(dir, "ice_text.model"), "x");
    const error = errorOf(() => checkModelFiles(dir));
    expect(error).toBeInstanceOf(ModelError);
    expect(error.code).toBe("MODEL_FILE_MISSING");
    expect(error.message).toMatch(new RegExp(`^missing in ${dir}: glm_6b\\.ckpt, the GLM-6B checkpoint \\(about 13\\.4 GB\\)$`, "m"));
    expect(error.message).not.toContain("ice_text.model");
    expect(error.message).toContain(`  - copy glm_6b.ckpt into ${dir}/ from anywhere`);
    expect(error.message).toContain("glm-chat pull --mirror URL, or GLM_CHAT_MIRROR=URL in the environment");
    expect(error.message).toContain(`download from https://ascend-repo-modelzoo.obs.cn-east-2.myhuaweicloud.com/XFormer_for_mindspore/glm/: glm-chat pull --model-dir ${dir}`);
    expect(error.message).toContain("npm run demo");
    expect(error.message).toContain("glm-chat pull --help");
  });

  it("leaves out the download that just failed", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    const ways = waysToGetModelFiles(dir, missingModelFiles(dir), true);
    expect(ways).toContain("copy glm_6b.ckpt and ice_text.model into");
    expect(ways).not.toContain("download from");
    expect(ways.split("\n").length).toBeLessThanOrEqual(7);
  });

  it("says when the directory itself is missing: check the path, or download there", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    const missing = join(dir, "does-not-exist");
    const message = errorOf(() => checkModelFiles(missing)).message;
    expect(message.split("\n")[0]).toBe(`model directory ${missing} does not exist: check the path, or download the model there (about 13.4 GB): glm-chat pull --model-dir ${missing}`);
    expect(message).toContain(`into ${missing}/ (mkdir -p it first)`);
  });

  it("offers the folder beside a mistyped one that holds the model", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    mkdirSync(join(dir, "glm-6b"));
    for (const name of ["glm_6b.ckpt", "ice_text.model"]) writeFileSync(join(dir, "glm-6b", name), "x");
    const message = errorOf(() => checkModelFiles(join(dir, "glm6b"))).message;
    expect(message.split("\n")[0]).toContain(`does not exist: check the path (did you mean --model-dir ${join(dir, "glm-6b")}? it holds both files)`);
  });

  it("says a --model-dir pointing at the checkpoint is a file, and names its folder", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    for (const name of ["glm_6b.ckpt", "ice_text.model"]) writeFileSync(join(dir, name), "x");
    const error = errorOf(() => checkModelFiles(join(dir, "glm_6b.ckpt")));
    expect(error.code).toBe("MODEL_DIR_NOT_A_DIRECTORY");
    expect(error.message).toBe(`--model-dir ${join(dir, "glm_6b.ckpt")} is one of the model files, not a directory: pass the folder it is in, which holds both model files: --model-dir ${dir}`);
    expect(error.message).not.toContain("13.4 GB");
  });

  it("accepts a directory holding both files", () => {
    dir = mkdtempSync(join(tmpdir(), "glm-model-"));
    for (const name of ["glm_6b.ckpt", "ice_text.model"]) writeFileSync(join(dir, name), "x");
    expect(() => checkModelFiles(dir)).not.toThrow();
  });
});
