// Checks of what runs glm-chat: Node, the zeromq addon, the sidecar's Python, MindSpore (+ run_check), MindFormers.
import { fail, ok, skip, warn, type CheckResult } from "../../host/check-result.ts";
import type { DoctorFacts } from "../../host/doctor-facts.ts";
import { RUN_CHECK_SUCCESS, runCheckFailure } from "../../host/python-probe.ts";

const major = (version: string) => Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
const versionAtLeast = (have: string, want: [number, number]) => {
  const [a = 0, b = 0] = have.split(".").map(Number);
  return a > want[0] || (a === want[0] && b >= want[1]);
};

export function checkNode(f: DoctorFacts): CheckResult {
  const detail = `Node ${f.node.version} on ${f.node.platform}-${f.node.arch}${f.node.glibc ? `, glibc ${f.node.glibc}` : ""}`;
  if (major(f.node.version) >= 20) return ok("node", "Node.js", detail);
  return fail("node", "Node.js", detail, "install Node 20 or 22 (https://nodejs.org, or npmmirror.com/mirrors/node in China)");
}

/** zeromq 6.8's Linux addons (node_modules/zeromq/build/linux/{x64,arm64}) need glibc >= 2.25 and GLIBCXX_3.4.22. */
export const ZEROMQ_MIN_GLIBC: [number, number] = [2, 25];

export function checkZeromq(f: DoctorFacts): CheckResult {
  if (f.zeromq.loaded) return ok("zeromq", "zeromq addon", `loads; libzmq ${f.zeromq.libzmq}`);
  const glibc = f.node.glibc;
  const oldGlibc = glibc !== undefined && !versionAtLeast(glibc, ZEROMQ_MIN_GLIBC);
  const fix = oldGlibc
    ? `this system's glibc ${glibc} is older than the ${ZEROMQ_MIN_GLIBC.join(".")} zeromq's prebuilt addon needs: use a newer image ` +
      "(e.g. Dockerfile.ascend), or build the addon here: npm rebuild zeromq (needs cmake and a C++17 compiler)"
    : "reinstall it: npm ci (or npm rebuild zeromq; needs cmake and a C++17 compiler when no prebuilt addon fits)";
  return fail("zeromq", "zeromq addon", `does not load: ${f.zeromq.error}`, fix);
}

export function checkPython(f: DoctorFacts, sidecarDir: string): CheckResult {
  const p = f.python;
  const which = p.source === "explicit" ? "--python/GLM_CHAT_PYTHON" : "managed venv";
  if (p.state === "absent") {
    return p.source === "managed"
      ? fail("python", "sidecar Python", `the managed venv is not there yet (${p.path})`, "run glm-chat once (it creates the venv and installs the sidecar's packages), or pass --python PATH")
      : fail("python", "sidecar Python", `${p.path} does not exist`, "pass --python with an existing interpreter");
  }
  if (p.state === "broken") return fail("python", "sidecar Python", `${p.path} (${which}) does not run: ${p.error}`, "pass --python PATH to a working Python 3.7+");
  const { version, missing } = p.facts;
  const detail = `${p.path} (${which}), Python ${version}`;
  if (!versionAtLeast(version, [3, 7])) return fail("python", "sidecar Python", detail, "use Python 3.7 or newer");
  if (missing.length) return fail("python", "sidecar Python", `${detail}; cannot import ${missing.join(", ")}`, `${p.path} -m pip install -r ${sidecarDir}/requirements.txt`);
  return ok("python", "sidecar Python", detail);
}

export function checkMindSpore(f: DoctorFacts, sidecarDir: string): CheckResult {
  if (f.python.state !== "ran") return skip("mindspore", "MindSpore", "no working Python");
  const ms = f.python.facts.mindspore;
  if (!ms.path) return fail("mindspore", "MindSpore", "not installed", `${f.python.path} -m pip install -r ${sidecarDir}/requirements-mindspore.txt (or use the notebook's Python that has it)`);
  const plugins = ms.plugins.filter((p) => !p.includes(".")).join(", ") || "none listed";
  return ok("mindspore", "MindSpore", `${ms.version ?? "unknown version"} (device plugins: ${plugins})`);
}

export function checkRunCheck(f: DoctorFacts): CheckResult {
  const { target, id } = f.device;
  const title = `MindSpore run_check (${target}:${id})`;
  if (!f.runCheck) return skip("run_check", title, "MindSpore not available");
  const r = f.runCheck;
  if (r.exitCode === 0 && RUN_CHECK_SUCCESS.test(r.stdout + r.stderr)) return ok("run_check", title, `passed on ${target}`);
  const last = runCheckFailure(`${r.stdout}\n${r.stderr}`);
  const why = r.timedOut ? "timed out" : `failed (exit ${r.exitCode}): ${last}`;
  const fix = target === "Ascend"
    ? "check the driver and CANN (npu-smi info; source /usr/local/Ascend/ascend-toolkit/set_env.sh) and that the MindSpore build matches the CANN version"
    : target === "GPU"
      ? "MindSpore's GPU plugins need CUDA_HOME with an 11.x nvcc and the CUDA 11 libraries with cuDNN 8: see the GPU plugin and CUDA libraries lines (docs/devices.md); else --device CPU"
      : "reinstall MindSpore: pip install -r python-sidecar/requirements-mindspore.txt";
  return fail("run_check", title, why, fix);
}

export function checkMindFormers(f: DoctorFacts): CheckResult {
  if (f.python.state !== "ran") return skip("mindformers", "MindFormers", "no working Python");
  const mf = f.python.facts.mindformers;
  const pin = `${f.python.path} -m pip install mindformers==1.3.2`;
  // Optional since the native engine: --engine auto runs GLM-6B on MindSpore alone where MindFormers has none.
  const native = "glm-chat's native engine runs GLM-6B without it";
  // Not installed is the managed setup's normal state: only --engine mindformers installs it.
  if (!mf.path) return ok("mindformers", "MindFormers", `not installed (only --engine mindformers needs it: ${pin}); ${native}`);
  const version = mf.version ?? "unknown version";
  if (!mf.has_glm) return warn("mindformers", "MindFormers", `${version} has no mindformers.models.glm (GLM-6B was deleted in 1.5); ${native}`, `${pin} (the newest release with GLM-6B; only for --engine mindformers)`);
  return ok("mindformers", "MindFormers", `${version}, has GLM-6B (mindformers.models.glm)`);
}
