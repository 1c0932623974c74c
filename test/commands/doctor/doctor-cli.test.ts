// `glm-chat doctor --json` through the real binary, with the real sidecar Python and the tiny model: MindSpore and MindFormers pass.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const python = process.env.GLM_CHAT_PYTHON;
const tinyDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !tinyDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}

const dir = mkdtempSync(join(tmpdir(), "glm-doctor-cli-"));
const modelDir = join(dir, "model");
let server: Server;
let mirror: string;
const heads: string[] = [];

beforeAll(async () => {
  mkdirSync(modelDir);
  for (const name of readdirSync(tinyDir)) copyFileSync(join(tinyDir, name), join(modelDir, name));
  server = createServer((req, res) => {
    heads.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "content-length": 10 }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/glm/`;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Report {
  ok: boolean;
  device: { target: string };
  checks: { id: string; status: string; detail: string; fix?: string }[];
}

describe("glm-chat doctor --json", () => {
  it("reports MindSpore, run_check and MindFormers ok with the sidecar's Python", async () => {
    // The newest sidecar log says the last run was killed out of memory: the doctor repeats it with the fix.
    const stateHome = join(dir, "state");
    mkdirSync(join(stateHome, "glm-chat", "logs"), { recursive: true });
    writeFileSync(join(stateHome, "glm-chat", "logs", "sidecar-2026-01-02T10-00-00-000Z.log"),
      "[glm-chat] sidecar exited: code - signal SIGKILL\n[glm-chat] out of memory: the engine used 22.1 GB of 24.7 GB while loading and was killed (SIGKILL); try --precision int8 or int4, a smaller --seq-length, or a machine with more memory\n");
    const result = await execa(process.execPath, ["bin/glm-chat.js", "doctor", "--json", "--python", python, "--model-dir", modelDir, "--mirror", mirror, "--device", "CPU"], {
      reject: false,
      env: { NO_PROXY: "127.0.0.1", GLM_CHAT_MIRROR: "", XDG_STATE_HOME: stateHome, GLM_CHAT_SEQ_LENGTH: "128" },
    });
    const report = JSON.parse(result.stdout) as Report;
    const status = (id: string) => report.checks.find((c) => c.id === id);
    for (const id of ["node", "zeromq", "python", "mindspore", "run_check", "mindformers", "model", "mirror"]) {
      expect(status(id)?.status, JSON.stringify(status(id))).toBe("ok");
    }
    expect(status("mindformers")?.detail).toContain("mindformers.models.glm");
    expect(status("model")?.detail).toContain("custom model");
    // The estimate reads the tiny model's glm_config.json, and GLM_CHAT_SEQ_LENGTH
    expect(status("ram")?.detail).toMatch(/this model on CPU needs about [\d.]+ [MG]B: [\d.]+ [kKMG]?B weights \(float16\) \+ [\d.]+ [kKMG]?B cache for 128 tokens.*; --precision auto picks float16: about [\d.]+ MB fits in/);
    expect(status("last_run")).toMatchObject({ status: "warn", detail: expect.stringMatching(/^out of memory: the engine used 22\.1 GB of 24\.7 GB/), fix: expect.stringContaining("--precision int8 or int4") });
    expect(heads).toEqual(["HEAD /glm/ice_text.model"]);
    expect(result.exitCode).toBe(report.ok ? 0 : 1);
  }, 120_000);

  it("`npm start --silent -- doctor --json` prints only the JSON; without --silent, stderr names npm's banner and that form", async () => {
    const env = { NO_PROXY: "127.0.0.1", GLM_CHAT_MIRROR: "", GLM_CHAT_SEQ_LENGTH: "128" };
    const silent = await execa("npm", ["start", "--silent", "--", "doctor", "--json", "--offline", "--python", python, "--model-dir", modelDir, "--device", "CPU"], { reject: false, env });
    expect((JSON.parse(silent.stdout) as Report).checks.length).toBeGreaterThan(5);
    expect(silent.stderr).not.toContain("npm printed");
    const plain = await execa("npm", ["start", "--", "pull", "--json", "--help"], { reject: false, env });
    expect(plain.stdout).toContain("> glm-chat@");
    expect(plain.stderr).toContain(`glm-chat: npm printed its "> glm-chat start" lines on stdout ahead of this JSON; for the JSON alone run`);
    expect(plain.stderr).toContain("npm start --silent -- pull --json --help");
  }, 120_000);
});
