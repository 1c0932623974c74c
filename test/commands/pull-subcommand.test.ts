// `glm-chat pull` through the real binary: fetches both model files from a local mirror and verifies them.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const files: Record<string, Buffer> = { "glm_6b.ckpt": Buffer.alloc(300_000, 7), "ice_text.model": Buffer.from("tokenizer bytes") };
let server: Server;
let base: string;
const dir = mkdtempSync(join(tmpdir(), "glm-pull-cli-"));

beforeAll(async () => {
  server = createServer((req, res) => {
    const match = /^\/glm\/([^/]+)$/.exec(req.url ?? "");
    const body = match ? files[match[1]!] : undefined;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-length": body.length }).end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/glm/`;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("glm-chat pull", () => {
  it("downloads both files into --model-dir from --mirror and exits 0", async () => {
    const modelDir = join(dir, "models");
    const result = await execa(process.execPath, ["bin/glm-chat.js", "pull", "--model-dir", modelDir, "--mirror", base, "--yes"], {
      reject: false,
      env: { XDG_DATA_HOME: join(dir, "data"), NO_PROXY: "127.0.0.1" },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    for (const [name, body] of Object.entries(files)) expect(readFileSync(join(modelDir, name)).equals(body)).toBe(true);
  }, 60_000);

  it("names the file and mirror when the mirror lacks it", async () => {
    const result = await execa(process.execPath, ["bin/glm-chat.js", "pull", "--model-dir", join(dir, "other"), "--mirror", `${base}missing/x/`, "--yes"], {
      reject: false,
      env: { XDG_DATA_HOME: join(dir, "data") },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/glm-chat pull: .*(glm_6b\.ckpt|ice_text\.model)/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);

  it("with no route to any source, names each source and why, then the ways forward that work offline", async () => {
    const modelDir = join(dir, "offline");
    // Every https:// request goes through a proxy that is not there: the default source fails too, on any network.
    const result = await execa(process.execPath, ["bin/glm-chat.js", "pull", "--model-dir", modelDir, "--mirror", "http://127.0.0.1:1/glm/", "--yes"], {
      reject: false,
      env: { XDG_DATA_HOME: join(dir, "data"), HTTPS_PROXY: "http://127.0.0.1:1", HTTP_PROXY: "", NO_PROXY: "127.0.0.1" },
    });
    expect(result.exitCode).toBe(1);
    // Each source's failure is said once: as it happens (stdout's progress lines), not again in the error.
    const both = `${result.stdout}\n${result.stderr}`;
    expect(both.match(/http:\/\/127\.0\.0\.1:1\/glm\/glm_6b\.ckpt: .*ECONNREFUSED: nothing listens there/g)).toHaveLength(1);
    expect(both.match(/https:\/\/ascend-repo-modelzoo\.obs\.cn-east-2\.myhuaweicloud\.com\/XFormer_for_mindspore\/glm\/glm_6b\.ckpt/g)).toHaveLength(1);
    expect(result.stderr).toContain("glm-chat pull: glm_6b.ckpt: not found on this machine and no source answered (the reasons are above)");
    expect(result.stderr).toContain(`Ways forward:\n  - copy glm_6b.ckpt and ice_text.model into ${modelDir}`);
    expect(result.stderr).toContain("glm-chat pull --mirror URL, or GLM_CHAT_MIRROR=URL");
    expect(result.stderr).toContain("npm run demo");
    expect(result.stderr).toContain("glm-chat pull --help");
    expect(result.stderr).not.toContain("download from"); // the source that just failed is not offered again
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it("a one-shot run without the model files lists the ways forward and exits 1", async () => {
    const modelDir = join(dir, "empty");
    const result = await execa(process.execPath, ["bin/glm-chat.js", "-p", "hi", "--model-dir", modelDir], { reject: false, env: { XDG_DATA_HOME: join(dir, "data") } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`glm-chat: model directory ${modelDir} does not exist: check the path`);
    expect(result.stderr).toContain("Ways forward:");
    expect(result.stderr).toContain(`glm-chat pull --model-dir ${modelDir}`);
    expect(result.stderr).not.toContain("[MODEL_FILE_MISSING]"); // a user error in its own words, as the sidecar's are
  }, 60_000);
});
