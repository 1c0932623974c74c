// ensurePythonEnv making a managed venv in temp dirs: pip's output becomes progress events and a log file, a failed
// pip names the log and its last lines; one real venv + a real pip install of a local wheel proves the real path.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { SidecarError } from "../../src/sidecar/errors.ts";
import type { InstallEvent } from "../../src/python-env/python-env.ts";
import { ensurePythonEnv } from "../../src/python-env/python-env.ts";

const scratch = mkdtempSync(join(tmpdir(), "glm-pyenv-install-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A sidecar dir whose requirement files hold `requirements`, `mindspore` and `mindformers` (one line each). */
function sidecarDir(name: string, requirements: string, mindspore: string, mindformers = "mindformers==1.3.2"): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "requirements.txt"), `${requirements}\n`);
  writeFileSync(join(dir, "requirements-mindspore.txt"), `${mindspore}\n`);
  writeFileSync(join(dir, "requirements-mindformers.txt"), `${mindformers}\n`);
  writeFileSync(join(dir, "constraints.txt"), "");
  return dir;
}

/**
 * A venv whose python is the real python3 except for `-m pip`: a pip 24.2 that prints what a real one prints
 * for a download (raw progress included), or, for a requirement named "broken", a resolver error and exit 1.
 */
function fakePipVenv(name: string): string {
  const venv = join(scratch, name);
  mkdirSync(join(venv, "bin"), { recursive: true });
  mkdirSync(join(venv, "lib", "python3.11", "site-packages"), { recursive: true });
  const python = join(venv, "bin", "python");
  writeFileSync(python, `#!/bin/bash
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  shift 2
  [ "$1" = "--version" ] && { echo "pip 24.2 from ${venv}/lib/pip (python 3.11)"; exit 0; }
  echo "pip $*" >> "${venv}/pip-calls"
  while [ $# -gt 0 ]; do [ "$1" = "-r" ] && req=$(cat "$2"); shift; done
  if [ "$req" = "broken==9" ]; then
    echo "Collecting broken==9"
    for i in $(seq 1 20); do echo "  noise line $i"; done
    echo "ERROR: Could not find a version that satisfies the requirement broken==9 (from versions: none)" >&2
    echo "ERROR: No matching distribution found for broken==9" >&2
    exit 1
  fi
  echo "Collecting $req (from -r requirements.txt (line 1))"
  echo "  Downloading $req-1.0-py3-none-any.whl (2.5 MB)"
  echo "Progress 0 of 2500000"
  echo "Progress 2500000 of 2500000"
  echo "Requirement already satisfied: six in /usr/lib/python3/dist-packages"
  echo "Installing collected packages: $req"
  mkdir -p "${venv}/lib/python3.11/site-packages/$req-1.0.dist-info"
  echo "Successfully installed $req-1.0"
  exit 0
fi
exec python3 "$@"
`);
  chmodSync(python, 0o755);
  return venv;
}

describe("ensurePythonEnv installing into a managed venv", () => {
  it("turns pip's output into step and progress events, logs it all, and skips a second install", async () => {
    const venvDir = fakePipVenv("fake-ok");
    const logFile = join(scratch, "logs", "install.log");
    const events: InstallEvent[] = [];
    const options = { venvDir, sidecarDir: sidecarDir("sc-ok", "pyzmq==26.0", "mindspore==2.7.2"), logFile, onEvent: (e: InstallEvent) => events.push(e) };
    const env = await ensurePythonEnv(options);
    expect(env).toMatchObject({ managed: true, python: join(venvDir, "bin", "python") });

    const steps = events.filter((e) => e.type === "step").map((e) => e.text);
    // MindSpore alone: MindFormers is for --engine mindformers only.
    expect(steps).toEqual(["Installing the sidecar's packages (requirements.txt)", expect.stringMatching(/^Installing MindSpore \(/)]);
    expect(events.filter((e) => e.type === "step-done")).toHaveLength(2);
    const last = events.filter((e) => e.type === "pip").at(-1);
    // pip says nothing while it unpacks: the packages in place are counted by their new .dist-info folders.
    expect(last).toMatchObject({ progress: { phase: "done", packagesSeen: 2, installing: 1, downloadedBytes: 2_500_000, installedSoFar: 1 } });
    const midDownload = events.find((e) => e.type === "pip" && e.progress.phase === "downloading");
    expect(midDownload).toMatchObject({ progress: { downloadedBytes: 2_500_000 } }); // announced size, then raw progress

    const calls = readFileSync(join(venvDir, "pip-calls"), "utf8");
    expect(calls).toContain("install --progress-bar raw --disable-pip-version-check -r");
    const log = readFileSync(logFile, "utf8");
    expect(log).toMatch(/\$ \S+\/bin\/python -m pip install --progress-bar raw .*requirements\.txt/);
    expect(log).toContain("Successfully installed pyzmq==26.0-1.0");

    expect(calls).not.toContain("requirements-mindformers.txt");

    events.length = 0;
    await ensurePythonEnv(options);
    expect(events).toEqual([]); // nothing changed: no pip run, no output

    // --engine mindformers asks for it: one more step, once.
    await ensurePythonEnv({ ...options, mindformers: true });
    expect(events.filter((e) => e.type === "step").map((e) => e.text)).toEqual(["Installing MindFormers (--engine mindformers)"]);
    expect(readFileSync(join(venvDir, "pip-calls"), "utf8")).toContain("requirements-mindformers.txt");
    events.length = 0;
    await ensurePythonEnv({ ...options, mindformers: true });
    expect(events).toEqual([]);
  });

  it("a failed pip names the log file and its last lines, without a stack", async () => {
    const venvDir = fakePipVenv("fake-broken");
    const logFile = join(scratch, "logs-broken", "install.log");
    const events: InstallEvent[] = [];
    const error = await ensurePythonEnv({ venvDir, sidecarDir: sidecarDir("sc-broken", "broken==9", "x"), logFile, onEvent: (e) => events.push(e) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SidecarError);
    const e = error as SidecarError;
    expect(e.code).toBe("PIP_FAILED");
    expect(e.logPath).toBe(logFile);
    expect(e.message).toMatch(/^pip install -r \S+requirements\.txt -c \S+ failed \(exit 1\); its last lines:\n/);
    expect(e.message).toContain("  ERROR: No matching distribution found for broken==9");
    expect(e.message).not.toContain("noise line 5"); // only the last lines
    expect(e.message.trimEnd().endsWith(`Full output: ${logFile}`)).toBe(true);
    expect(readFileSync(logFile, "utf8")).toContain("noise line 5"); // the log keeps everything
    expect(events.at(-1)).toEqual({ type: "step-failed" });
  });

  it("creates a real venv and pip-installs a real (local) wheel into it", async () => {
    // A one-module wheel, built here so nothing is fetched.
    const wheel = join(scratch, "glmtinypkg-0.1-py3-none-any.whl");
    await execa("python3", ["-c", `
import base64, hashlib, sys, zipfile
files = {"glmtinypkg/__init__.py": "VALUE = 42\\n",
         "glmtinypkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\\nName: glmtinypkg\\nVersion: 0.1\\n",
         "glmtinypkg-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: glm-chat-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
rows = []
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, text in files.items():
        data = text.encode()
        z.writestr(name, data)
        rows.append("%s,sha256=%s,%d" % (name, base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(), len(data)))
    rows.append("glmtinypkg-0.1.dist-info/RECORD,,")
    z.writestr("glmtinypkg-0.1.dist-info/RECORD", "\\n".join(rows) + "\\n")
`, wheel]);
    const venvDir = join(scratch, "real-venv");
    const logFile = join(scratch, "logs-real", "install.log");
    const events: InstallEvent[] = [];
    const env = await ensurePythonEnv({ venvDir, sidecarDir: sidecarDir("sc-real", wheel, wheel), logFile, basePythons: ["python3"], onEvent: (e) => events.push(e) });
    expect(existsSync(join(venvDir, "bin", "python"))).toBe(true);
    expect(events[0]).toMatchObject({ type: "step", text: `Creating the sidecar's Python environment ${venvDir} with python3 (Python ${env.version})` });
    expect(events[1]).toEqual({ type: "step-done" });
    // The first pip run installs it; the second (the MindSpore file, same wheel) finds it satisfied.
    const progress = events.filter((e) => e.type === "pip").map((e) => e.progress);
    expect(progress).toContainEqual(expect.objectContaining({ phase: "done", installing: 1, packagesSeen: 1 }));
    expect(progress.some((p) => p.current === "glmtinypkg")).toBe(true);
    expect(events.filter((e) => e.type === "step-done")).toHaveLength(3);
    const { stdout } = await execa(env.python, ["-c", "import glmtinypkg; print(glmtinypkg.VALUE)"]);
    expect(stdout).toBe("42");
    expect(readFileSync(logFile, "utf8")).toMatch(/-m venv --system-site-packages[\s\S]*Successfully installed glmtinypkg-0\.1/);
  }, 120_000);
});
