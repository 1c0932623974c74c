// Finds or makes the sidecar's Python: an explicit one wins, else a managed venv that sees system site-packages.
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { execa } from "execa";
import { SidecarError } from "../sidecar/errors.ts";
import { failureTail, runLogged } from "./logged-run.ts";
import { initialPipReadState, readPipLine, type PipProgress } from "./pip-progress.ts";

/** What ensurePythonEnv reports while it creates the venv and runs pip (installReporter shows it). */
export type InstallEvent =
  /** A long step starts: creating the venv, or one pip install. */
  | { type: "step"; text: string }
  /** pip printed a line; `progress` is the summary so far. */
  | { type: "pip"; progress: PipProgress }
  /** The running step ended well, or failed (its error follows as a thrown SidecarError). */
  | { type: "step-done" }
  | { type: "step-failed" }
  /** A one-off message (a choice made, an optional part skipped). */
  | { type: "note"; text: string };

export interface PythonEnvOptions {
  /** --python or GLM_CHAT_PYTHON: used as it is, never modified. */
  explicitPython?: string;
  venvDir: string;
  sidecarDir: string;
  /** Extra requirement files to install into the managed venv (e.g. test tools). */
  extraRequirements?: string[];
  /** Install MindFormers too (--engine mindformers, and the test suite); else the managed venv has MindSpore alone. */
  mindformers?: boolean;
  /** Base interpreters to try for creating the venv, first that works wins. */
  basePythons?: string[];
  /** Steps and pip's progress, for installReporter (a live line or plain lines). */
  onEvent?: (event: InstallEvent) => void;
  /** Where pip's and venv's full output is appended; shown when a step fails. Default: install.log in the venv. */
  logFile?: string;
}

export interface PythonEnv {
  python: string;
  managed: boolean;
  version: string;
}

// MindFormers is optional: without its GLM-6B, --engine auto runs the native engine.
const REQUIRED_MODULES = ["zmq", "msgpack", "sentencepiece", "mindspore"];
const PROBE = `import importlib.util as u, json, sys
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "missing": [m for m in sys.argv[1:] if u.find_spec(m) is None]}))`;

interface Probe {
  version: string;
  missing: string[];
}

async function probe(python: string, modules: string[]): Promise<Probe> {
  const { stdout } = await execa(python, ["-c", PROBE, ...modules]);
  return JSON.parse(stdout) as Probe;
}

export async function ensurePythonEnv(options: PythonEnvOptions): Promise<PythonEnv> {
  if (options.explicitPython) return checkExplicitPython(options.explicitPython, options.sidecarDir);
  return ensureManagedVenv(options);
}

async function checkExplicitPython(python: string, sidecarDir: string): Promise<PythonEnv> {
  let found: Probe;
  try {
    found = await probe(python, REQUIRED_MODULES);
  } catch (cause) {
    throw new SidecarError("PYTHON_NOT_FOUND", `cannot run the Python given with --python/GLM_CHAT_PYTHON: ${python}`, { cause });
  }
  if (found.missing.length > 0) {
    throw new SidecarError(
      "PYTHON_PACKAGES_MISSING",
      `${python} (Python ${found.version}) cannot import: ${found.missing.join(", ")}.\n` +
        `Install them with: ${python} -m pip install -r ${join(sidecarDir, "requirements.txt")}` +
        (found.missing.includes("mindspore") ? ` -r ${join(sidecarDir, "requirements-mindspore.txt")}` : ""),
    );
  }
  return { python, managed: false, version: found.version };
}

interface InstallContext {
  emit: (event: InstallEvent) => void;
  logFile: string;
}

async function ensureManagedVenv(options: PythonEnvOptions): Promise<PythonEnv> {
  const { venvDir, sidecarDir } = options;
  const ctx: InstallContext = { emit: options.onEvent ?? (() => {}), logFile: options.logFile ?? join(venvDir, "install.log") };
  const python = join(venvDir, "bin", "python");
  if (!existsSync(python)) await createVenv(options, python, ctx);
  const inSidecar = (f: string) => (f.startsWith("/") ? f : join(sidecarDir, f));
  const constraints = ["-c", join(sidecarDir, "constraints.txt")];
  const onChange = (file: string, install: (file: string) => Promise<void>) =>
    installOnChange(venvDir, [file, constraints[1]!], () => install(file));
  await onChange(inSidecar("requirements.txt"), (file) =>
    pipInstall(python, ["-r", file, ...constraints], `Installing the sidecar's packages (${basename(file)})`, ctx));
  await onChange(inSidecar("requirements-mindspore.txt"), async (file) => {
    const { missing } = await probe(python, ["mindspore"]);
    if (missing.includes("mindspore")) {
      await pipInstall(python, ["-r", file, ...constraints], "Installing MindSpore (about 0.85 GB; MindSpore is not importable here)", ctx);
    }
  });
  // MindFormers (about 0.45 GB more) only where it runs: --engine auto and native need MindSpore alone.
  if (options.mindformers) {
    await onChange(inSidecar("requirements-mindformers.txt"), async (file) => {
      const { missing } = await probe(python, ["mindformers"]);
      if (missing.includes("mindformers")) await pipInstall(python, ["-r", file, ...constraints], "Installing MindFormers (--engine mindformers)", ctx);
    });
  }
  for (const extra of options.extraRequirements ?? []) {
    await onChange(inSidecar(extra), (file) => pipInstall(python, ["-r", file, ...constraints], `Installing ${basename(file)}`, ctx));
  }
  const { version } = await probe(python, []);
  return { python, managed: true, version };
}

async function createVenv(options: PythonEnvOptions, python: string, ctx: InstallContext): Promise<void> {
  const candidates = options.basePythons ?? [process.env.GLM_CHAT_BASE_PYTHON, "python3", "python"];
  for (const base of candidates.filter((c): c is string => Boolean(c))) {
    let found: Probe;
    try {
      found = await probe(base, []);
    } catch {
      continue;
    }
    const [major = 0, minor = 0] = found.version.split(".").map(Number);
    if (major < 3 || (major === 3 && minor < 7)) continue;
    ctx.emit({ type: "step", text: `Creating the sidecar's Python environment ${options.venvDir} with ${base} (Python ${found.version})` });
    await mkdir(options.venvDir, { recursive: true });
    const args = ["-m", "venv", "--system-site-packages", options.venvDir];
    const result = await runLogged(base, args, ctx.logFile, () => {});
    if (result.failed) {
      ctx.emit({ type: "step-failed" });
      throw new SidecarError("VENV_CREATE_FAILED", `${base} -m venv ${options.venvDir} failed${failureTail(result, ctx.logFile)}`, { cause: result.cause, logPath: ctx.logFile });
    }
    ctx.emit({ type: "step-done" });
    if (existsSync(python)) return;
  }
  throw new SidecarError(
    "PYTHON_NOT_FOUND",
    "no Python 3.7+ found to create the sidecar's environment; install Python, or pass --python PATH",
  );
}

/** pip >= 24.1 reports each download's bytes with `--progress-bar raw`; older pips get `off`. */
async function progressBarFlag(python: string): Promise<string> {
  const { stdout } = await execa(python, ["-m", "pip", "--version"], { reject: false });
  const [major = 0, minor = 0] = (/^pip (\d+)\.(\d+)/.exec(stdout) ?? []).slice(1).map(Number);
  return major > 24 || (major === 24 && minor >= 1) ? "raw" : "off";
}

/** The venv's site-packages (venv/lib/pythonX.Y/site-packages) for a venv's bin/python, if there is one. */
function sitePackagesOf(python: string): string | undefined {
  const lib = join(dirname(dirname(python)), "lib");
  const version = existsSync(lib) ? readdirSync(lib).find((d) => /^python3\.\d+$/.test(d)) : undefined;
  const dir = version ? join(lib, version, "site-packages") : undefined;
  return dir && existsSync(dir) ? dir : undefined;
}

/** The .dist-info folders in `dir` (none when it cannot be read): pip writes one as it finishes each package. */
function distInfos(dir: string | undefined): Set<string> {
  try {
    return new Set(dir ? readdirSync(dir).filter((d) => d.endsWith(".dist-info")) : []);
  } catch {
    return new Set();
  }
}

async function pipInstall(python: string, args: string[], step: string, ctx: InstallContext): Promise<void> {
  ctx.emit({ type: "step", text: step });
  let state = initialPipReadState();
  const flags = ["--progress-bar", await progressBarFlag(python), "--disable-pip-version-check"];
  // pip is silent while it unpacks (a minute and more for MindSpore): count what is in place, once a second.
  const sitePackages = sitePackagesOf(python);
  const before = distInfos(sitePackages);
  const countInPlace = () => {
    if (state.progress.phase !== "installing" && state.progress.phase !== "done") return;
    const n = [...distInfos(sitePackages)].filter((d) => !before.has(d)).length;
    if (n !== (state.progress.installedSoFar ?? 0)) ctx.emit({ type: "pip", progress: (state = { ...state, progress: { ...state.progress, installedSoFar: n } }).progress });
  };
  const poll = setInterval(countInPlace, 1000);
  const result = await runLogged(python, ["-m", "pip", "install", ...flags, ...args], ctx.logFile, (line) => {
    const next = readPipLine(state, line);
    if (next !== state) ctx.emit({ type: "pip", progress: (state = { ...next, progress: { ...next.progress, installedSoFar: state.progress.installedSoFar } }).progress });
    countInPlace();
  }).finally(() => clearInterval(poll));
  if (result.failed) {
    ctx.emit({ type: "step-failed" });
    throw new SidecarError("PIP_FAILED", `pip install ${args.join(" ")} failed${failureTail(result, ctx.logFile)}`, { cause: result.cause, logPath: ctx.logFile });
  }
  ctx.emit({ type: "step-done" });
}

/** Runs `install` when the files it depends on changed since its last success in this venv. */
async function installOnChange(venvDir: string, files: string[], install: () => Promise<void>): Promise<void> {
  const hash = createHash("sha256");
  for (const file of files) hash.update(await readFile(file));
  const stamp = hash.digest("hex");
  const stampPath = join(venvDir, `.glm-chat-${basename(files[0]!)}.sha256`);
  if ((await readFile(stampPath, "utf8").catch(() => "")) === stamp) return;
  await install();
  await writeFile(stampPath, stamp);
}
