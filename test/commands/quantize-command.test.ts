// `glm-chat quantize` with a fake backend: parse-time refusals, the pre-check of the checkpoint, what reaches stdout and stderr, exit codes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { BackendStatus } from "../../src/chat/backend.ts";
import { appPaths } from "../../src/config/paths.ts";
import { runQuantize, type QuantizeBackend } from "../../src/commands/quantize-command.ts";
import type { QuantizedCopyInfo } from "../../src/protocol/messages.ts";
import { SidecarError } from "../../src/sidecar/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "glm-quantize-cmd-"));
const modelDir = join(dir, "model");
mkdirSync(modelDir);
writeFileSync(join(modelDir, "glm_6b.ckpt"), "not read by the fake");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(isTTY = false) {
  const out = { stdout: "", stderr: "" };
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY, columns: 200 });
  stdout.on("data", (c: Buffer) => (out.stdout += c.toString()));
  stderr.on("data", (c: Buffer) => (out.stderr += c.toString()));
  return { out, io: { stdout, stderr, env: {}, onInterrupt: () => () => {} } };
}

const copy = (made: boolean, precision = "int8"): QuantizedCopyInfo => ({
  path: join(modelDir, `glm_6b.${precision}.glmq`), bytes: 7_200_000_000, precision, checkpoint: join(modelDir, "glm_6b.ckpt"), made, seconds: made ? 83.5 : 0.2,
});

/** A backend that plays `statuses`, then resolves with `info` or rejects with `error`. */
function fakeBackend(statuses: BackendStatus[], outcome: { copy?: QuantizedCopyInfo; error?: unknown }) {
  const listeners: ((s: BackendStatus) => void)[] = [];
  const backend: QuantizeBackend & { closed: number } = {
    closed: 0,
    onStatus: (l) => (listeners.push(l), () => {}),
    start: async () => {
      for (const s of statuses) for (const l of listeners) l(s);
      if (outcome.error) throw outcome.error;
      return { info: { engine: "native", engine_version: "1", mindspore_version: null, device_target: "CPU", device_id: 0, seq_length: null, quantized_copy: outcome.copy } };
    },
    close: async () => void (backend.closed += 1),
  };
  return backend;
}

async function run(argv: string[], backend = fakeBackend([], { copy: copy(true) }), isTTY = false) {
  const { out, io } = capture(isTTY);
  const started: unknown[] = [];
  const code = await runQuantize(argv, appPaths({ XDG_DATA_HOME: join(dir, "data") }), io, async (flags) => (started.push(flags), backend));
  return { code, ...out, started };
}

const making = (progress: number): BackendStatus => ({ state: "loading", phase: "quantize", progress, detail: `quantize ${Math.round(progress * 100)}% (int8 copy: …)` });

describe("glm-chat quantize: parse time", () => {
  it.each(["float16", "float32", "auto"])("refuses --precision %s before starting anything, saying it makes int8 or int4", async (precision) => {
    const r = await run(["--precision", precision, "--model-dir", modelDir]);
    expect(r.code).toBe(2);
    expect(r.started).toEqual([]);
    expect(r.stderr).toContain("quantize makes int8 or int4 copies only");
    expect(r.stderr).toContain(precision);
  });

  it("refuses a precision that is none, and takes int8 or int4 in any case, int8 by default", async () => {
    expect((await run(["--precision", "int3", "--model-dir", modelDir])).stderr).toContain('quantize makes int8 or int4 copies; got "int3"');
    expect((await run(["--model-dir", modelDir])).started).toEqual([expect.objectContaining({ precision: "int8", modelDir })]);
    expect((await run(["--precision", "INT4", "--model-dir", modelDir, "--python", "/py"])).started).toEqual([{ precision: "int4", modelDir, python: "/py" }]);
  });

  it("says where the checkpoint is missing and how to get it, without starting the engine", async () => {
    const r = await run(["--model-dir", join(dir, "empty")]);
    expect(r.code).toBe(1);
    expect(r.started).toEqual([]);
    expect(r.stderr).toBe(`glm-chat quantize: there is no glm_6b.ckpt in ${join(dir, "empty")} to make the int8 copy of\n` +
      `fix: glm-chat pull --model-dir ${join(dir, "empty")} downloads it (or pass --model-dir where it is)\n`);
  });
});

describe("glm-chat quantize: output", () => {
  it("prints progress on stderr a line per tenth off a terminal, then where the copy is, its size and time on stdout", async () => {
    const statuses: BackendStatus[] = [{ state: "starting" }, { state: "loading", phase: "quantize", detail: "quantize (looking for a valid int8 copy of x)" },
      making(0), making(0.05), making(0.12), making(0.5), making(1)];
    const backend = fakeBackend(statuses, { copy: copy(true) });
    const r = await run(["--model-dir", modelDir], backend);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines.slice(0, 2)).toEqual(["glm-chat quantize: starting the engine", "glm-chat quantize: looking for a valid int8 copy of x"]);
    expect(lines.slice(2).map((l) => /(\d+)%/.exec(l)?.[1])).toEqual(["0", "12", "50", "100"]);
    expect(lines[5]).toMatch(/^glm-chat quantize: making the int8 copy \[#{20}\] 100% · \d+s$/);
    expect(r.stdout).toBe(`made the int8 copy of ${join(modelDir, "glm_6b.ckpt")} in 1m24s:\n  ${join(modelDir, "glm_6b.int8.glmq")} (7.2 GB)\n` +
      "glm-chat --precision int8 loads it (mapped from disk, not read into memory).\n");
    expect(backend.closed).toBeGreaterThan(0);
  });

  it("redraws one line in a terminal and clears it before the result", async () => {
    const r = await run(["--model-dir", modelDir], fakeBackend([making(0.25), making(0.5)], { copy: copy(true) }), true);
    expect(r.stderr.split("\r\x1b[2K").filter(Boolean).map((l) => /(\d+)%/.exec(l)?.[1])).toEqual(["25", "50"]);
    expect(r.stderr.endsWith("\r\x1b[2K")).toBe(true);
    expect(r.stderr).not.toContain("\n");
  });

  it("says a copy already there is there, and that nothing was made", async () => {
    const r = await run(["--precision", "int4", "--model-dir", modelDir], fakeBackend([], { copy: copy(false, "int4") }));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^the int4 copy of .*glm_6b\.ckpt is already there \(checked in 200 ms; nothing made\):\n {2}.*glm_6b\.int4\.glmq \(7\.2 GB\)\n/);
  });
});

describe("glm-chat quantize: failures", () => {
  const failing = (error: unknown) => run(["--model-dir", modelDir], fakeBackend([making(0.3)], { error }));

  it.each([
    ["DiskFull", "no room for the quantized copy: /m has 1.00 GB free, the int8 copy needs 7.20 GB", "set XDG_CACHE_HOME to a folder on a disk with room"],
    ["QuantizedCopyUnwritable", "cannot write the quantized copy beside the checkpoint or in the cache folder", "set XDG_CACHE_HOME to a writable folder"],
    ["CheckpointInvalid", "/m/glm_6b.ckpt cannot be read: Input/output error", "pull --model-dir"],
  ])("%s: one message with the fix, exit 1, no stack", async (ename, evalue, fix) => {
    const r = await failing(new SidecarError("ENGINE_LOAD_FAILED", `${ename}: ${evalue}`, { ename, stderrTail: ["Traceback (most recent call last):"], logPath: "/log" }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines.slice(-2)).toEqual([`glm-chat quantize: cannot make the int8 copy: ${evalue} [${ename}]`, expect.stringContaining(fix)]);
    expect(r.stderr).not.toMatch(/Traceback|\n\s+at /);
  });

  it("a dying engine: its own last lines and its log", async () => {
    const r = await failing(new SidecarError("SIDECAR_EXITED", "the engine exited with code 1 while loading", { stderrTail: ["Segmentation fault"], logPath: "/logs/sidecar.log" }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").slice(-3)).toEqual([
      "glm-chat quantize: cannot make the int8 copy: the engine exited with code 1 while loading [SIDECAR_EXITED]", "Segmentation fault", "log: /logs/sidecar.log"]);
  });

  it("Ctrl+C closes the engine and exits 130", async () => {
    const { io, out } = capture();
    let cancel = () => {};
    let closed = 0;
    const backend: QuantizeBackend = {
      onStatus: () => () => {},
      start: () => new Promise((_, reject) => (cancel(), setImmediate(() => reject(new SidecarError("SIDECAR_STOPPED", "stopped"))))),
      close: async () => void (closed += 1),
    };
    const code = await runQuantize(["--model-dir", modelDir], appPaths({}), { ...io, onInterrupt: (c) => ((cancel = c), () => {}) }, async () => backend);
    expect(code).toBe(130);
    expect(closed).toBeGreaterThan(0);
    expect(out.stderr).toContain("cancelled");
  });
});
