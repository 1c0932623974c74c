// The commands that draw nothing start without Ink (about 2 s of imports under tsx): a module hook lists what the real binary resolves.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "bin", "glm-chat.js");
const dir = mkdtempSync(join(tmpdir(), "glm-lazy-ui-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Node's module hooks (module.register) see every resolved URL; the hook appends Ink's to a file named by the env.
const hooks = join(dir, "hooks.mjs");
writeFileSync(hooks, `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.includes("/node_modules/ink/")) appendFileSync(process.env.INK_LOG, resolved.url + "\\n");
  return resolved;
}
`);
const registerHooks = join(dir, "register.mjs");
writeFileSync(registerHooks, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

let runs = 0;
/** Runs node with the hook; resolves with its exit code and the Ink modules it resolved. */
async function inkModulesOf(args: string[]) {
  const log = join(dir, `ink-${runs++}.log`);
  writeFileSync(log, "");
  const run = await execa(process.execPath, ["--import", pathToFileURL(registerHooks).href, ...args], {
    cwd: root, env: { INK_LOG: log, XDG_DATA_HOME: join(dir, "data"), XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: join(dir, "cache") },
    reject: false, input: "", timeout: 60_000,
  });
  return { exitCode: run.exitCode, stderr: String(run.stderr), ink: readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

describe("Ink is imported only by what draws", () => {
  it("the hook sees an import of Ink (the check can fail)", async () => {
    const run = await inkModulesOf(["--input-type=module", "-e", 'await import("ink");']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.ink.length).toBeGreaterThan(0);
  });

  it("--help, a subcommand's --help and a one-shot question that fails before the engine start without it", async () => {
    const runs = await Promise.all([
      inkModulesOf([bin, "--help"]),
      inkModulesOf([bin, "serve", "--help"]),
      inkModulesOf([bin, "-p", "你好", "--model-dir", join(dir, "no-such-model")]),
    ]);
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 1]);
    expect(runs[2]!.stderr).toMatch(/no-such-model/);
    expect(runs.map((r) => r.ink)).toEqual([[], [], []]);
  }, 90_000);
});
