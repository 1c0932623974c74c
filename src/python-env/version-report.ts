// `glm-chat --version`: the package's version; with --verbose, Node's, the sidecar Python's, MindSpore's and the engine `auto` would run.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { PYTHON_PROBE, type PythonFacts } from "../host/python-probe.ts";

export interface VersionReportInput {
  packageRoot: string;
  verbose: boolean;
  /** --python / GLM_CHAT_PYTHON; else the managed venv's Python, if it exists yet. */
  explicitPython?: string;
  venvDir: string;
  engine: string;
}

export function packageVersion(packageRoot: string): string {
  const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version?: string };
  return version ?? "unknown";
}

/** The engine a start would pick, from the facts alone (auto: MindFormers where it has GLM-6B, else native). */
export function engineLine(engine: string, facts: PythonFacts): string {
  const mf = facts.mindformers;
  const auto = engine === "auto";
  if (engine === "native" || (auto && !mf.has_glm)) {
    const why = mf.version ? `MindFormers ${mf.version} has no GLM-6B` : "no MindFormers";
    return `engine: native (MindSpore alone)${auto ? `, picked by auto: ${why}` : ""}`;
  }
  if (engine === "mindformers" || auto) return `engine: mindformers ${mf.version ?? "(not installed)"}${auto ? ", picked by auto" : ""}`;
  return `engine: ${engine}`;
}

/** Lines to print; never throws for a missing or broken Python (that is a line of the report). */
export async function versionReport(input: VersionReportInput): Promise<string[]> {
  const lines = [`glm-chat ${packageVersion(input.packageRoot)}`];
  if (!input.verbose) return lines;
  lines.push(`node ${process.version} (${process.platform}-${process.arch})`);
  const python = input.explicitPython || join(input.venvDir, "bin", "python");
  if (!input.explicitPython && !existsSync(python)) {
    lines.push(`python: the managed venv is not there yet (${python}); the first chat creates it`);
    return lines;
  }
  let facts: PythonFacts;
  try {
    facts = JSON.parse((await execa(python, ["-c", PYTHON_PROBE], { timeout: 30_000 })).stdout) as PythonFacts;
  } catch (error) {
    lines.push(`python: ${python} did not run: ${(error as Error).message.split("\n")[0]}`);
    return lines;
  }
  lines.push(`python ${facts.version} (${python})`);
  lines.push(facts.mindspore.version ? `mindspore ${facts.mindspore.version}` : "mindspore: not installed");
  lines.push(engineLine(input.engine, facts));
  return lines;
}
