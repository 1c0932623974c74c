// The GPU checks: one line each for the plugin MindSpore will load (CUDA_HOME, nvcc), the CUDA libraries it links, and the driver and compute capability; each with its fix.
import { fail, ok, skip, warn, type CheckResult, type CheckStatus } from "./check-result.ts";
import { computeCapabilityNote, compareVersions, pipInstallLine, PLUGIN_LIBRARIES } from "./cuda-rules.ts";
import type { CudaFacts } from "./cuda-probe.ts";

/** MindSpore's documented driver minimums per plugin. */
const MIN_DRIVER: Record<string, string> = { "11.1": "450.80.02", "11.6": "510.39.01" };
const TOOLKIT_FIX = "install a CUDA 11.6-11.8 toolkit and set CUDA_HOME to it (e.g. /usr/local/cuda-11.8)";

export interface CudaCheckInput {
  cuda: CudaFacts;
  /** true when the device is GPU: problems fail instead of warn. */
  wanted: boolean;
  /** The sidecar's Python, for the pip line. */
  python: string;
}

function pluginCheck({ cuda, wanted, python }: CudaCheckInput): CheckResult {
  const title = "MindSpore GPU plugin";
  const { plan, plugin } = cuda;
  if (plugin.version) {
    if (!plan.standIn) return ok("gpu_plugin", title, `${plugin.why}${plan.cudaHome ? ` (CUDA_HOME=${plan.cudaHome})` : ""}`);
    const replaced = plan.replaced ? `; your CUDA_HOME=${plan.replaced.cudaHome} (nvcc ${plan.replaced.nvcc.release ?? plan.replaced.nvcc.error}) is not used` : "";
    return warn("gpu_plugin", title, `glm-chat's nvcc stand-in is in use: CUDA_HOME=${plan.cudaHome} reports CUDA 11.8 because the libraries come from pip${replaced}; ${plugin.why}`,
      `${TOOLKIT_FIX} to use a real nvcc (needed only for graph-kernel fusion and custom CUDA ops)`);
  }
  const fix = plan.pipLibDirs.length ? TOOLKIT_FIX : `${TOOLKIT_FIX}, or install the CUDA 11 libraries into the sidecar's Python (glm-chat then uses its nvcc stand-in): ${pipInstallLine(python)}`;
  return (wanted ? fail : warn)("gpu_plugin", title, `none will load: ${plugin.why}`, fix);
}

function librariesCheck({ cuda, wanted, python }: CudaCheckInput): CheckResult {
  const title = "CUDA libraries";
  if (!cuda.pluginFile) return skip("cuda_libs", title, "no GPU plugin file in this MindSpore");
  if (cuda.lddError) return (wanted ? fail : warn)("cuda_libs", title, `ldd ${cuda.pluginFile} failed: ${cuda.lddError}`);
  const missing = cuda.libraries.filter((l) => l.path === null).map((l) => l.name);
  const found = cuda.libraries.filter((l) => l.path !== null);
  const sources = ["pip", "CUDA_HOME", "system"].map((s) => [s, found.filter((l) => l.source === s).length] as const).filter(([, n]) => n > 0);
  const where = sources.map(([s, n]) => `${n} from ${s}`).join(", ");
  if (!missing.length) return ok("cuda_libs", title, `all ${found.length} the plugin links resolve (${where}) with the sidecar's LD_LIBRARY_PATH`);
  const driverOnly = missing.filter((m) => m === "libcuda.so.1");
  const wheels = [...new Set(missing.map((m) => PLUGIN_LIBRARIES[m]).filter((w): w is string => Boolean(w)))];
  const fixes = [
    ...(wheels.length ? [`${python} -m pip install ${wheels.map((w) => (w.includes("<") ? `"${w}"` : w)).join(" ")} (glm-chat puts their lib folders on the sidecar's LD_LIBRARY_PATH), or ${TOOLKIT_FIX} with cuDNN 8`] : []),
    ...(driverOnly.length ? ["libcuda.so.1 is the NVIDIA driver's: install the driver (in Docker: --gpus all)"] : []),
    ...(missing.includes("libnvrtc.so.11.1") ? ["the CUDA 11.1 plugin's libnvrtc.so.11.1 is on no wheel: use a CUDA 11.1 toolkit, or nvcc 11.6+ for the 11.6 plugin"] : []),
  ];
  return (wanted ? fail : warn)("cuda_libs", title, `missing: ${missing.join(", ")}${where ? `; found ${where}` : ""}`, fixes.join("; "));
}

function gpuCheck({ cuda, wanted }: CudaCheckInput, deviceId: number): CheckResult {
  const title = "GPU driver and architecture";
  const gpu = cuda.gpus[deviceId] ?? cuda.gpus[0];
  if (!gpu) return (wanted ? fail : skip)("gpu_arch", title, cuda.smiError ?? "nvidia-smi lists no GPU");
  const min = cuda.plugin.version ? MIN_DRIVER[cuda.plugin.version] : undefined;
  const old = min && gpu.driver && compareVersions(gpu.driver, min) < 0;
  const cap = gpu.computeCap ? computeCapabilityNote(gpu.computeCap) : { ok: true, note: "compute capability unknown (nvidia-smi too old to report it)" };
  const detail = `${gpu.name}, driver ${gpu.driver ?? "unknown"}; ${cap.note}`;
  if (old) return (wanted ? fail : warn)("gpu_arch", title, detail, `MindSpore's CUDA ${cuda.plugin.version} plugin needs driver ${min} or newer: update the NVIDIA driver`);
  if (!cap.ok) return (wanted ? fail : warn)("gpu_arch", title, detail, "use a GPU of compute capability 6.0 or newer, or --device CPU");
  const status: CheckStatus = /PTX/.test(cap.note) ? "warn" : "ok";
  return status === "warn" ? warn("gpu_arch", title, detail, "let the first start run (minutes); later starts reuse the driver's cache (~/.nv/ComputeCache)") : ok("gpu_arch", title, detail);
}

export function checkCuda(input: CudaCheckInput, deviceId = 0): CheckResult[] {
  return [pluginCheck(input), librariesCheck(input), gpuCheck(input, deviceId)];
}

/** What stops MindSpore from running on this GPU, one line each with its fix (empty: nothing known to). */
export function gpuBlockers(cuda: CudaFacts, python: string, deviceId = 0): string[] {
  return checkCuda({ cuda, wanted: true, python }, deviceId)
    .filter((r) => r.status === "fail")
    .map((r) => `${r.title}: ${r.detail}${r.fix ? ` (fix: ${r.fix})` : ""}`);
}
