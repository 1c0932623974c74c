// Dockerfile.ascend without Docker: base from build args, every ARG used, COPY sources present, RUN's commands in the base distro, Node's arch names, doctor first.
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with `\` continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, " ");
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

/** The first word of every simple command in a RUN line, $(...) substitutions included. */
function commandsOf(script: string): string[] {
  const substitutions = [...script.matchAll(/\$\(([^()]*)\)/g)].map((m) => m[1]!);
  const body = script.replace(/\$\([^()]*\)/g, "''").replace(/"[^"]*"|'[^']*'/g, "''");
  return [body, ...substitutions].flatMap((s) => s.split(/;;|;|&&|\|\||\|/))
    .map((part) => part.trim().replace(/^case\s+\S+\s+in\s*/, "").replace(/^[^\s()$]+\)\s*/, "").replace(/^(?:if|then|else|do)\s+/, "").split(/\s+/)[0] ?? "")
    .filter((word) => word && word !== "''" && !/^\w+=/.test(word) && !["esac", "fi", "done"].includes(word));
}

const file = readFileSync("Dockerfile.ascend", "utf8");
const instructions = parseDockerfile(file);
const of = (keyword: string) => instructions.filter((i) => i.keyword === keyword);
const WORKDIR = "/opt/glm-chat";

describe("Dockerfile.ascend", () => {
  it("builds FROM the BASE_IMAGE and BASE_TAG build args, declared before it", () => {
    const from = of("FROM");
    expect(from).toHaveLength(1);
    expect(from[0]!.args).toBe("${BASE_IMAGE}:${BASE_TAG}");
    const firstFrom = instructions.findIndex((i) => i.keyword === "FROM");
    const early = instructions.slice(0, firstFrom).filter((i) => i.keyword === "ARG").map((i) => i.args.split("=")[0]);
    expect(early).toEqual(["BASE_IMAGE", "BASE_TAG"]);
  });

  it("uses every ARG it declares", () => {
    const body = instructions.filter((i) => i.keyword !== "ARG").map((i) => i.args).join("\n");
    for (const arg of of("ARG")) {
      const name = arg.args.split("=")[0]!;
      expect(body, `ARG ${name} is never used`).toMatch(new RegExp(`\\$\\{?${name}\\b`));
    }
  });

  it("COPYs only paths that exist, and works in /opt/glm-chat", () => {
    expect(of("WORKDIR").map((i) => i.args)).toEqual([WORKDIR]);
    const copies = of("COPY");
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      for (const source of parts.slice(0, -1)) expect(existsSync(source), `COPY source ${source}`).toBe(true);
    }
    const copied = copies.flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    for (const needed of ["package.json", "package-lock.json", "bin", "src", "python-sidecar"]) expect(copied).toContain(needed);
  });

  it("names only repo files that exist and are copied in (scripts, requirements, the entrypoint)", () => {
    const named = [...file.matchAll(/(?:\/opt\/glm-chat\/|(?<=\s))((?:bin|src|python-sidecar|scripts)\/[\w./-]+)/g)].map((m) => m[1]!);
    expect(named).toContain("scripts/docker-entrypoint.sh");
    expect(named).toContain("python-sidecar/requirements.txt");
    for (const path of named) expect(existsSync(path), path).toBe(true);
  });

  it("installs dependencies with npm ci and the sidecar's requirements, and runs glm-chat as the entrypoint", () => {
    const runs = of("RUN").map((i) => i.args).join("\n");
    expect(runs).toContain("npm ci");
    expect(runs).toMatch(/pip install [^\n]*-r python-sidecar\/requirements\.txt/);
    expect(runs).not.toMatch(/pip install[^\n|]*requirements-mindspore/);
    const entrypoint = of("ENTRYPOINT");
    expect(entrypoint).toHaveLength(1);
    expect(JSON.parse(entrypoint[0]!.args)).toEqual([`${WORKDIR}/scripts/docker-entrypoint.sh`]);
    expect(of("COPY").map((c) => c.args)).toContain("scripts/docker-entrypoint.sh ./scripts/docker-entrypoint.sh");
    expect(statSync("scripts/docker-entrypoint.sh").mode & 0o111).not.toBe(0);
  });

  it("RUNs only shell builtins, the base image's Python, what it installed itself, and Ubuntu 22.04's essential tools", () => {
    // BASE_TAG is ubuntu22.04: these come from its Essential packages (coreutils, tar, gzip for tar -z, bash, grep).
    const essential = new Set(["mkdir", "rm", "uname", "tar", "gzip", "cat", "echo", "grep", "ln", "cp", "mv", "test"]);
    const builtins = new Set(["set", "case", "in", "esac", "if", "then", "fi", "else", "exit", "[", "export", "cd", "for", "do", "done"]);
    const installedHere = new Set(["/opt/node/bin/node", "node", "npm"]);
    const commands = of("RUN").flatMap((r) => commandsOf(r.args));
    expect(new Set(commands)).toEqual(new Set(["uname", "echo", "exit", "${PYTHON}", "mkdir", "tar", "rm", "/opt/node/bin/node", "set", "npm", "node", "["]));
    for (const command of commands) {
      const ok = essential.has(command) || builtins.has(command) || installedHere.has(command) || command === "${PYTHON}";
      expect(ok, `RUN uses ${command}`).toBe(true);
    }
  });

  it("downloads the Node tarball for the machine's arch under Node's own names (linux-x64, linux-arm64)", () => {
    const run = of("RUN").map((r) => r.args).find((a) => a.includes("node-v"))!;
    const arches = Object.fromEntries([...run.matchAll(/(\w+)\) arch=(\w+) ;;/g)].map((m) => [m[1], m[2]]));
    expect(arches).toEqual({ x86_64: "x64", aarch64: "arm64" });
    expect(run).toContain("node-v${NODE_VERSION}-linux-${arch}.tar.gz");
    expect(file).toMatch(/x86_64 and aarch64/);
  });

  it("the entrypoint runs doctor first (on stderr), once for `doctor` itself, and then glm-chat with the arguments", async () => {
    const fake = mkdtempSync(join(tmpdir(), "glm-entry-"));
    writeFileSync(join(fake, "node"), `#!/bin/sh
echo "node $*" >> "${fake}/calls"
`);
    chmodSync(join(fake, "node"), 0o755);
    const env = { PATH: `${fake}:${process.env.PATH}`, GLM_CHAT_SKIP_DOCTOR: "" };
    const cli = join(process.cwd(), "bin", "glm-chat.js");
    await execa("scripts/docker-entrypoint.sh", ["-p", "hi"], { env });
    await execa("scripts/docker-entrypoint.sh", ["doctor", "--json"], { env });
    expect(readFileSync(join(fake, "calls"), "utf8").trim().split("\n")).toEqual([
      `node ${cli} doctor --offline`, `node ${cli} -p hi`, `node ${cli} doctor --json`]);
  });
});
