// Finds or makes the sidecar's Python: an explicit one wins, else a managed venv that sees system site-packages.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { execa } from "execa";
import { SidecarError } from "./errors.ts";

export interface PythonEnvOptions {
  /** --python or GLM_CHAT_PYTHON: used as it is, never modified. */
  explicitPython?: string;
  venvDir: string;
  sidecarDir: string;
  /** Extra requirement files to install into the managed venv (e.g. test tools). */
  extraRequirements?: string[];
  /** Base interpreters to try for creating the venv, first that works wins. */
  basePythons?: string[];
  onProgress?: (line: string) => void;
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
        (found.missing.some((m) => m.startsWith("mind")) ? ` -r ${join(sidecarDir, "requirements-mindspore.txt")}` : ""),
    );
  }
  return { python, managed: false, version: found.version };
}

async function ensureManagedVenv(options: PythonEnvOptions): Promise<PythonEnv> {
  const { venvDir, sidecarDir, onProgress = () => {} } = options;
  const python = join(venvDir, "bin", "python");
  if (!existsSync(python)) await createVenv(options, python);
  const inSidecar = (f: string) => (f.startsWith("/") ? f : join(sidecarDir, f));
  const constraints = ["-c", join(sidecarDir, "constraints.txt")];
  const onChange = (file: string, install: (file: string) => Promise<void>) =>
    installOnChange(venvDir, [file, constraints[1]!], () => install(file));
  await onChange(inSidecar("requirements.txt"), async (file) => {
    onProgress("Installing the sidecar's Python packages into " + venvDir);
    await pipInstall(python, ["-r", file, ...constraints], onProgress);
  });
  await onChange(inSidecar("requirements-mindspore.txt"), async (file) => {
    const { missing } = await probe(python, ["mindspore", "mindformers"]);
    if (missing.includes("mindspore")) {
      onProgress("MindSpore is not importable: installing the pinned MindSpore + MindFormers (a few GB)");
      await pipInstall(python, ["-r", file, ...constraints], onProgress);
    } else if (missing.includes("mindformers")) {
      onProgress("Using the MindSpore already installed; installing the pinned MindFormers");
      try {
        await pipInstall(python, ["mindformers==1.3.2", ...constraints], onProgress);
      } catch (cause) {
        // Optional: without it, --engine auto runs the native engine (MindSpore alone).
        onProgress(`MindFormers could not be installed (${(cause as Error).message.split("\n")[0]}); the native engine will run`);
      }
    }
  });
  for (const extra of options.extraRequirements ?? []) {
    await onChange(inSidecar(extra), (file) => pipInstall(python, ["-r", file, ...constraints], onProgress));
  }
  const { version } = await probe(python, []);
  return { python, managed: true, version };
}

async function createVenv(options: PythonEnvOptions, python: string): Promise<void> {
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
    options.onProgress?.(`Creating the sidecar's Python environment with ${base} (Python ${found.version}) in ${options.venvDir}`);
    await mkdir(options.venvDir, { recursive: true });
    try {
      await execa(base, ["-m", "venv", "--system-site-packages", options.venvDir]);
    } catch (cause) {
      throw new SidecarError("VENV_CREATE_FAILED", `${base} -m venv ${options.venvDir} failed: ${lastLines(cause)}`, { cause });
    }
    if (existsSync(python)) return;
  }
  throw new SidecarError(
    "PYTHON_NOT_FOUND",
    "no Python 3.7+ found to create the sidecar's environment; install Python, or pass --python PATH",
  );
}

async function pipInstall(python: string, args: string[], onProgress: (line: string) => void): Promise<void> {
  const child = execa(python, ["-m", "pip", "install", "--progress-bar", "off", "--disable-pip-version-check", ...args], {
    all: true,
    buffer: { all: true },
  });
  child.all?.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split(/\r?\n/)) if (line.trim()) onProgress(line.trimEnd());
  });
  try {
    await child;
  } catch (cause) {
    throw new SidecarError("PIP_FAILED", `pip install ${args.join(" ")} failed:\n${lastLines(cause)}`, { cause });
  }
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

function lastLines(error: unknown, n = 12): string {
  const e = error as { all?: string; stderr?: string; message?: string };
  const text = e.all || e.stderr || e.message || String(error);
  return text.split(/\r?\n/).slice(-n).join("\n");
}
