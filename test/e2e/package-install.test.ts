// The npm package as users get it: `npm pack` holds what runs and no tests; a global install into a temp prefix
// runs `glm-chat -p` on the tiny model with the real sidecar, and the chat screen, from a directory outside the checkout.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const python = process.env.GLM_CHAT_PYTHON;
const modelDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !modelDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}
const root = join(import.meta.dirname, "..", "..");
const scratch = mkdtempSync(join(tmpdir(), "glm-chat-package-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the npm package", () => {
  it("packs only what runs, installs globally and answers -p from another directory", async () => {
    const packed = await execa("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: root });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const paths = info!.files.map((f) => f.path);
    for (const needed of ["bin/glm-chat.js", "src/cli.tsx", "src/download/hash-worker.mjs", "tsconfig.json", "python-sidecar/glm_sidecar/server.py",
      "python-sidecar/glm_sidecar/engine/native/kernels/linear_f16.c", "python-sidecar/requirements.txt", "python-sidecar/requirements-mindspore.txt", "python-sidecar/requirements-mindformers.txt",
      "python-sidecar/constraints.txt", "docs/protocol.md", "README.md", "LICENSE", "package.json"]) {
      expect(paths).toContain(needed);
    }
    expect(paths.filter((p) => /^(test|scripts|\.ci|\.cache|node_modules)\/|^python-sidecar\/(tests|tools)\/|__pycache__|\.pyc$/.test(p))).toEqual([]);

    // --prefer-offline: the dependencies `npm ci` just fetched come from npm's cache.
    const prefix = join(scratch, "prefix");
    await execa("npm", ["install", "--global", "--prefix", prefix, join(scratch, info!.filename), "--prefer-offline", "--no-audit", "--no-fund"], { cwd: scratch });
    const elsewhere = join(scratch, "elsewhere");
    mkdirSync(elsewhere);
    const glmChat = join(prefix, "bin", "glm-chat");
    const env = { XDG_DATA_HOME: join(scratch, "data"), XDG_STATE_HOME: join(scratch, "state"), XDG_CACHE_HOME: join(scratch, "cache"), GLM_CHAT_DEVICE: "CPU" };

    const version = await execa(glmChat, ["--version"], { cwd: elsewhere, env });
    expect(version.stdout).toMatch(/^glm-chat \d+\.\d+\.\d+$/);
    const run = await execa(glmChat, ["-p", "你好", "--model-dir", modelDir!, "--python", python!, "--greedy", "--max-new-tokens", "8", "--json"], {
      cwd: elsewhere, env, reject: false, input: "", timeout: 240_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout) as { answer: string; usage: { completion_tokens: number }; engine: string };
    expect(answer.usage.completion_tokens).toBe(8);
    expect(answer.answer.length).toBeGreaterThan(0);
    expect(answer.engine).toMatch(/mindspore 2\./);

    // The chat screen itself (JSX) from there, in a pseudo-terminal (`script`), on the fake engine; /exit,
    // typed once the status line says ready (the prompt reads keys by then), quits.
    const chat = execa("script", ["-qfec", `stty cols 100 rows 30; exec ${glmChat} --engine fake --python ${python}`, "/dev/null"], {
      cwd: elsewhere, env, reject: false, timeout: 120_000,
    });
    let screen = "";
    chat.stdout!.on("data", (chunk: Buffer) => {
      const seen = screen.includes("● ready");
      screen += chunk.toString();
      if (!seen && screen.includes("● ready")) chat.stdin!.write("/exit\r");
    });
    const ended = await chat;
    expect(ended.exitCode, screen).toBe(0);
    expect(screen).toContain("glm-chat · ChatGLM-6B");
    expect(screen).not.toContain("React is not defined");
  }, 300_000);
});
