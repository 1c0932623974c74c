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
});
