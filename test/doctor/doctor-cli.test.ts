// `glm-chat doctor --json` through the real binary, with the real sidecar Python and the tiny model: MindSpore and MindFormers pass.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
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
    const result = await execa(process.execPath, ["bin/glm-chat.js", "doctor", "--json", "--python", python, "--model-dir", modelDir, "--mirror", mirror, "--device", "CPU"], {
      reject: false,
      env: { NO_PROXY: "127.0.0.1", GLM_CHAT_MIRROR: "" },
    });
    const report = JSON.parse(result.stdout) as Report;
    const status = (id: string) => report.checks.find((c) => c.id === id);
    for (const id of ["node", "zeromq", "python", "mindspore", "run_check", "mindformers", "model", "mirror"]) {
      expect(status(id)?.status, JSON.stringify(status(id))).toBe("ok");
    }
    expect(status("mindformers")?.detail).toContain("mindformers.models.glm");
    expect(status("model")?.detail).toContain("custom model");
    expect(heads).toEqual(["HEAD /glm/ice_text.model"]);
    expect(result.exitCode).toBe(report.ok ? 0 : 1);
  }, 120_000);
});
