// Dockerfile.ascend's structure: base from build args, every ARG used, every COPY source and named script present in the repo.
import { existsSync, readFileSync } from "node:fs";
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
    expect(named).toContain("bin/glm-chat.js");
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
    expect(JSON.parse(entrypoint[0]!.args).join(" ")).toContain(`node ${WORKDIR}/bin/glm-chat.js`);
  });
});
