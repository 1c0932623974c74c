// `glm-chat pull` as the lead wires it: flags, GLM_CHAT_MIRROR, --json events, plain lines, exit codes.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runPull } from "../../src/commands/pull-command.ts";
import { makeContent, startFileServer, type FileServer } from "../download/helpers/file-server.ts";

const ckpt = makeContent(1024 * 1024 + 3);
const tokenizer = makeContent(50_000);
let server: FileServer;
let dir: string;

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (d: Buffer) => (stdout += d.toString()));
  err.on("data", (d: Buffer) => (stderr += d.toString()));
  return { io: { stdout: out, stderr: err, isTTY: false }, text: () => ({ stdout, stderr }) };
}

beforeEach(async () => {
  server = await startFileServer({ "glm_6b.ckpt": ckpt, "ice_text.model": tokenizer });
  dir = await mkdtemp(join(tmpdir(), "glm-cmd-"));
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

it("pulls both files from GLM_CHAT_MIRROR and prints one JSON event per line", async () => {
  const c = capture();
  const code = await runPull(["--model-dir", dir, "--json", "--connections", "2"], { ...c.io, env: { GLM_CHAT_MIRROR: server.base } });
  expect(code).toBe(0);
  const events = c.text().stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; file?: string });
  expect(events.filter((e) => e.type === "done").map((e) => e.file)).toEqual(["glm_6b.ckpt", "ice_text.model"]);
  expect((await readFile(join(dir, "glm_6b.ckpt"))).equals(ckpt)).toBe(true);
  expect((await readFile(join(dir, "ice_text.model"))).equals(tokenizer)).toBe(true);
});

it("prints plain lines when stdout is not a terminal, and accepts a --sha256 pin", async () => {
  const c = capture();
  const { createHash } = await import("node:crypto");
  const pin = `ice_text.model=${createHash("sha256").update(tokenizer).digest("hex")}`;
  const code = await runPull(["--model-dir", dir, "--mirror", server.base, "--sha256", pin], { ...c.io, env: {} });
  expect(code).toBe(0);
  expect(c.text().stdout).toMatch(/glm_6b\.ckpt: downloaded, verified \(md5\)/);
  expect(c.text().stdout).toMatch(/ice_text\.model: downloaded, verified \(sha256\)/);
  expect(c.text().stdout).toMatch(new RegExp(`\nnext: glm-chat --model-dir ${dir} to chat; short of memory\\? glm-chat quantize --model-dir ${dir} --precision int8 \\(or int4\\) makes the smaller copy now\n$`));
});

it("exits 2 on bad flags and 1 with the reason on a bad mirror", async () => {
  const c = capture();
  expect(await runPull(["--sha256", "glm_6b.ckpt=xyz"], { ...c.io, env: {} })).toBe(2);
  expect(c.text().stderr).toContain("64-digit");
  const d = capture();
  expect(await runPull(["--model-dir", dir, "--mirror", "ftp://x/"], { ...d.io, env: {} })).toBe(1);
  expect(d.text().stderr).toContain("must be an http:// or https:// URL");
  expect(await runPull(["--help"], { ...capture().io, env: {} })).toBe(0);
});

it("refuses a --model-dir that is the checkpoint file, naming its folder, before touching the network", async () => {
  const { writeFile } = await import("node:fs/promises");
  for (const name of ["glm_6b.ckpt", "ice_text.model"]) await writeFile(join(dir, name), "x");
  const c = capture();
  expect(await runPull(["--model-dir", join(dir, "glm_6b.ckpt"), "--mirror", server.base], { ...c.io, env: {} })).toBe(2);
  expect(c.text().stderr).toBe(`glm-chat pull: --model-dir ${join(dir, "glm_6b.ckpt")} is one of the model files, not a directory: pass the folder it is in, which holds both model files: --model-dir ${dir}\n`);
  expect(server.requests).toEqual([]);
});
