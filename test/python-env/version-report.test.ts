// `glm-chat --version` / `-v` through the real binary, and --verbose against the sidecar's real Python.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { engineLine } from "../../src/python-env/version-report.ts";
import type { PythonFacts } from "../../src/host/python-probe.ts";

const bin = join(import.meta.dirname, "..", "..", "bin", "glm-chat.js");
const { version } = (await import("../../package.json", { with: { type: "json" } })).default;
const scratch = mkdtempSync(join(tmpdir(), "glm-version-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const run = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [bin, ...args], { reject: false, env: { GLM_CHAT_VENV: join(scratch, "no-venv"), ...env }, extendEnv: true });

describe("glm-chat --version", () => {
  it("prints the package version for -v and --version, and exits 0", async () => {
    for (const flag of ["-v", "--version"]) {
      const result = await run([flag]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toBe(`glm-chat ${version}`);
    }
  }, 30_000);

  it("with --verbose adds Node, the sidecar's Python, MindSpore and the engine auto picks", async () => {
    const python = process.env.GLM_CHAT_PYTHON;
    if (!python) throw new Error("GLM_CHAT_PYTHON is unset: run the suite with `npm test`");
    const result = await run(["--version", "--verbose"], { GLM_CHAT_PYTHON: python });
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(`glm-chat ${version}`);
    expect(lines[1]).toBe(`node ${process.version} (${process.platform}-${process.arch})`);
    expect(lines[2]).toMatch(new RegExp(`^python 3\\.\\d+\\.\\d+ \\(${python.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)$`));
    expect(lines[3]).toMatch(/^mindspore 2\.\d+\.\d+/);
    expect(lines[4]).toMatch(/^engine: (mindformers 1\.\d+\.\d+, picked by auto|native \(MindSpore alone\), picked by auto: .+)$/);
  }, 60_000);

  it("says when there is no Python to ask yet, instead of failing", async () => {
    const result = await run(["--verbose", "-v"], { GLM_CHAT_PYTHON: "" });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`python: the managed venv is not there yet (${join(scratch, "no-venv", "bin", "python")})`);
  }, 30_000);
});

describe("engineLine", () => {
  const facts = (version: string | null, hasGlm: boolean) =>
    ({ mindformers: { path: null, version, has_glm: hasGlm } }) as unknown as PythonFacts;
  it("names the engine auto would run and why", () => {
    expect(engineLine("auto", facts("1.3.2", true))).toBe("engine: mindformers 1.3.2, picked by auto");
    expect(engineLine("auto", facts("1.8.0", false))).toBe("engine: native (MindSpore alone), picked by auto: MindFormers 1.8.0 has no GLM-6B");
    expect(engineLine("auto", facts(null, false))).toBe("engine: native (MindSpore alone), picked by auto: no MindFormers");
    expect(engineLine("native", facts("1.3.2", true))).toBe("engine: native (MindSpore alone)");
    expect(engineLine("mindformers", facts(null, false))).toBe("engine: mindformers (not installed)");
  });
});
