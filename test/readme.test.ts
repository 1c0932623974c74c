// The README's first screen: the two Quick start commands, only commands a test or CI runs, and links that resolve.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatBytes } from "../src/util/format.ts";
import { DEFAULT_SEQ_LENGTH, estimateMemory, GLM6B_FP16_BYTES, GLM6B_WIDTHS, inferLayers } from "../src/model/memory-estimate.ts";

const root = join(import.meta.dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** Each command the README shows, and what runs it. */
const RUN_BY: Record<string, string> = {
  "npm ci && npm start": ".ci/run (npm ci) + test/e2e/tui-tmux.test.ts (npm start --session)",
  "npm ci && npm test": ".ci/run",
  "npm run demo": "test/e2e/tui-tmux.test.ts",
  "npm start": "test/e2e/tui-tmux.test.ts",
  "npm start --": "test/e2e/tui-tmux.test.ts",
  "npm start --silent --": "test/doctor/doctor-cli.test.ts",
  "glm-chat": "test/e2e/package-install.test.ts (the installed command)",
  "glm-chat pull": "test/commands/pull-subcommand.test.ts",
  "glm-chat quantize": "test/e2e/quantize.test.ts",
  "glm-chat doctor": "test/commands/doctor/doctor-cli.test.ts",
  'glm-chat -p "question"': "test/e2e/package-install.test.ts (the installed command), test/e2e/oneshot.test.ts",
  "glm-chat serve": "test/e2e/serve.test.ts",
  "glm-chat --help": "test/commands/cli-options.test.ts",
  "glm-chat --version --verbose": "test/python-env/version-report.test.ts",
};

describe("README", () => {
  it("gives the model's size and memory need as the code estimates them, which Python, and what the demo's � is", () => {
    const shape = { ckptBytes: GLM6B_FP16_BYTES, seqLength: DEFAULT_SEQ_LENGTH, ...GLM6B_WIDTHS, layers: inferLayers(GLM6B_FP16_BYTES) };
    const flat = readme.replace(/\s+/g, " ");
    expect(flat).toContain(`${formatBytes(GLM6B_FP16_BYTES)} (\`glm_6b.ckpt\`)`);
    expect(flat).toContain(`${formatBytes(estimateMemory(shape, "Ascend", "auto").deviceBytes)} of NPU/GPU memory`);
    expect(flat).toContain(`${formatBytes(estimateMemory(shape, "CPU", "float16").hostBytes)} of RAM on CPU with \`--precision float16\``);
    expect(flat).toContain(`(${formatBytes(estimateMemory(shape, "CPU", "float32").hostBytes)} in float32)`);
    expect(flat).toMatch(/Python 3\.9–3\.11 with `venv`, where glm-chat installs MindSpore 2\.7\.2 itself, or 3\.7\+ with MindSpore already installed/);
    expect(flat).toMatch(/half a character shows as "�"/);
  });

  it("Quick start holds exactly two commands: the chat and every test", () => {
    const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = block.trim().split("\n").map((line) => line.replace(/\s+#.*$/, "").trim());
    expect(commands).toEqual(["npm ci && npm start", "npm ci && npm test"]);
  });

  it("shows only commands that a test or CI runs", () => {
    const shown = [...readme.matchAll(/`((?:npm|glm-chat)\b[^`]*)`/g)].map((m) => m[1]!);
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    shown.push(...block.trim().split("\n").map((line) => line.replace(/\s+#.*$/, "").trim()));
    expect(shown.length).toBeGreaterThan(6);
    expect(shown.filter((command) => !(command in RUN_BY))).toEqual([]);
  });

  it("fits a first screen or two, and every link in it and in docs/ resolves", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(70);
    const files = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(root, file), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const path = join(dirname(join(root, file)), target!);
        const relative = path.slice(root.length + 1);
        if (!existsSync(path)) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
