// `glm-chat quantize` end to end: the real binary and sidecar make the int8 and int4 copies of a copy of the tiny model, find them again, and fail clearly.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, execaSync } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const python = process.env.GLM_CHAT_PYTHON;
const tinyModelDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !tinyModelDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}
const scratch = mkdtempSync(join(tmpdir(), "glm-chat-quantize-"));
const mounted: string[] = [];
afterAll(() => {
  for (const folder of mounted.reverse()) execaSync("umount", ["-l", folder], { reject: false });
  rmSync(scratch, { recursive: true, force: true });
});
const env = { XDG_DATA_HOME: join(scratch, "data"), XDG_STATE_HOME: join(scratch, "state"), XDG_CACHE_HOME: join(scratch, "cache") };
const bin = join(import.meta.dirname, "..", "..", "bin", "glm-chat.js");

function quantize(args: string[]) {
  return execa(process.execPath, [bin, "quantize", "--python", python!, ...args], { env, reject: false, timeout: 240_000, input: "" });
}

/** A folder holding a copy of the tiny model's files (its copies go beside them). */
function modelCopy(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const file of ["glm_6b.ckpt", "ice_text.model", "glm_config.json"]) copyFileSync(join(tinyModelDir!, file), join(dir, file));
  return dir;
}

describe("glm-chat quantize", () => {
  it("makes the int8 and then the int4 copy beside the checkpoint, and a second run finds the copy without making it again", async () => {
    const dir = modelCopy("model");
    const made: Record<string, { mtimeMs: number; ino: number }> = {};
    for (const precision of ["int8", "int4"]) {
      const run = await quantize(["--precision", precision, "--model-dir", dir]);
      expect(run.exitCode, String(run.stderr)).toBe(0);
      const copy = join(dir, `glm_6b.${precision}.glmq`);
      expect(existsSync(copy)).toBe(true);
      expect(run.stdout).toContain(`made the ${precision} copy of ${join(dir, "glm_6b.ckpt")} in `);
      expect(run.stdout).toContain(`  ${copy} (`);
      expect(run.stderr).toMatch(new RegExp(`making the ${precision} copy \\[#{20}\\] 100%`));
      made[precision] = statSync(copy);
    }
    expect(statSync(join(dir, "glm_6b.int4.glmq")).size).toBeLessThan(statSync(join(dir, "glm_6b.int8.glmq")).size);
    const again = await quantize(["--precision", "int8", "--model-dir", dir]);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(again.stdout).toMatch(/^the int8 copy of .*glm_6b\.ckpt is already there \(checked in [^)]*; nothing made\):\n/);
    expect(again.stderr).not.toContain("making the int8 copy");
    const after = statSync(join(dir, "glm_6b.int8.glmq"));
    expect([after.mtimeMs, after.ino]).toEqual([made.int8!.mtimeMs, made.int8!.ino]);
  }, 300_000);

  it("a missing checkpoint: one line with the fix, exit 1; a damaged one: the engine's words, exit 1; no stack either way", async () => {
    const empty = join(scratch, "empty");
    mkdirSync(empty);
    const damaged = join(scratch, "damaged");
    mkdirSync(damaged);
    writeFileSync(join(damaged, "glm_6b.ckpt"), Buffer.alloc(4096, 0xff));
    const [missing, broken] = await Promise.all([quantize(["--model-dir", empty]), quantize(["--precision", "int4", "--model-dir", damaged])]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe(`glm-chat quantize: there is no glm_6b.ckpt in ${empty} to make the int8 copy of\n` +
      `fix: glm-chat pull --model-dir ${empty} downloads it (or pass --model-dir where it is)`);
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toMatch(/glm-chat quantize: cannot make the int4 copy: .*glm_6b\.ckpt is not a readable MindSpore checkpoint .*pull.* \[CheckpointInvalid\]$/);
    for (const run of [missing, broken]) expect(String(run.stderr)).not.toMatch(/Traceback|\n\s+at |internal error/);
    expect(existsSync(join(damaged, "glm_6b.int4.glmq"))).toBe(false);
  }, 300_000);
});

/** A tmpfs of `bytes` at a new folder (read-only after `fill` where asked); undefined where this machine does not let us mount one. */
function tmpfs(name: string, bytes: number, fill: (dir: string) => void = () => {}, readOnly = false): string | undefined {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0 || execaSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], { reject: false }).exitCode !== 0) return undefined;
  mounted.push(dir);
  fill(dir);
  if (readOnly && execaSync("mount", ["-o", "remount,ro", dir], { reject: false }).exitCode !== 0) return undefined;
  return dir;
}

const withCheckpoint = (dir: string) => copyFileSync(join(tinyModelDir!, "glm_6b.ckpt"), join(dir, "glm_6b.ckpt"));

describe("glm-chat quantize where the model folder is read-only (real tmpfs mounts; skipped where mounting is not allowed)", () => {
  it("puts the copy under the cache folder; with no room there, or no folder it may write, one message with the fix", async (context) => {
    const model = tmpfs("ro-model", 4 << 20, withCheckpoint, true);
    const full = tmpfs("full-cache", 128 << 10);
    const readOnlyCache = tmpfs("ro-cache", 1 << 20, () => {}, true);
    if (!model || !full || !readOnlyCache) return context.skip();
    const run = (cache: string) => execa(process.execPath, [bin, "quantize", "--python", python!, "--model-dir", model], { env: { ...env, XDG_CACHE_HOME: cache }, reject: false, timeout: 240_000, input: "" });
    const [cached, noRoom, unwritable] = await Promise.all([run(join(scratch, "cache-ok")), run(full), run(readOnlyCache)]);
    expect(cached.exitCode, String(cached.stderr)).toBe(0);
    expect(cached.stdout).toMatch(new RegExp(`\n {2}${join(scratch, "cache-ok", "glm-chat", "quantized")}/[0-9a-f]{16}/glm_6b\\.int8\\.glmq \\(`));
    expect(noRoom.exitCode).toBe(1);
    expect(noRoom.stderr).toMatch(/glm-chat quantize: cannot make the int8 copy: no room for the quantized copy: .* \[DiskFull\]\nfix: free that much space there, or set XDG_CACHE_HOME/);
    expect(unwritable.exitCode).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot make the int8 copy: cannot write the quantized copy .* \[QuantizedCopyUnwritable\]\nfix: make .* writable, or set XDG_CACHE_HOME to a writable folder/);
    for (const r of [noRoom, unwritable]) expect(String(r.stderr)).not.toMatch(/Traceback|\n\s+at |internal error/);
  }, 300_000);
});
