// Gathers the GPU facts MindSpore's plugin loading depends on, with the environment the sidecar will get: CUDA_HOME and its nvcc, the plugin that selects, ldd of it, driver and compute capability.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { gpuLaunchPlan, type GpuLaunchPlan } from "./gpu-launch-env.ts";
import { cudaLibrariesFromLdd, pluginVersions, selectPlugin, type PluginChoice, type ResolvedLibrary } from "./cuda-rules.ts";
import type { RunCommand } from "./host-probes.ts";
import { PYTHON_PROBE, type PythonFacts } from "./python-probe.ts";

export interface GpuFacts {
  name: string;
  driver?: string;
  computeCap?: string;
}

export interface CudaFacts {
  mindspore: string;
  plan: GpuLaunchPlan;
  plugin: PluginChoice;
  /** The plugin library ldd read (the selected one, else the newest), or undefined when none is on disk. */
  pluginFile?: string;
  libraries: ResolvedLibrary[];
  lddError?: string;
  gpus: GpuFacts[];
  smiError?: string;
}

export interface CudaProbeInput {
  run: RunCommand;
  env: NodeJS.ProcessEnv;
  python: string;
  sidecarDir: string;
  mindspore: { path: string; version: string; plugins: string[] };
}

function pluginFileFor(msPath: string, version: string): string | undefined {
  const dir = join(msPath, "lib", "plugin");
  return [join(dir, `libmindspore_gpu.so.${version}`), join(dir, `gpu${version}`, "libmindspore_gpu.so")].find((p) => existsSync(p));
}

/** nvidia-smi's CSV rows: name, driver_version, compute_cap (older drivers lack compute_cap: asked for again without it). */
async function gpus(run: RunCommand, env: NodeJS.ProcessEnv): Promise<{ gpus: GpuFacts[]; error?: string }> {
  for (const fields of ["name,driver_version,compute_cap", "name,driver_version"]) {
    const r = await run("nvidia-smi", [`--query-gpu=${fields}`, "--format=csv,noheader"], 15_000, { PATH: env.PATH });
    if (!r.found) return { gpus: [], error: "nvidia-smi not found" };
    if (r.exitCode !== 0) continue;
    const rows = r.stdout.trim().split("\n").filter(Boolean).map((line) => line.split(",").map((s) => s.trim()));
    return { gpus: rows.map(([name = "?", driver, cap]) => ({ name, driver, computeCap: cap && /^\d+\.\d+$/.test(cap) ? cap : undefined })) };
  }
  return { gpus: [], error: "nvidia-smi --query-gpu failed" };
}

export async function gatherCudaFacts(o: CudaProbeInput): Promise<CudaFacts> {
  const plan = await gpuLaunchPlan({ python: o.python, sidecarDir: o.sidecarDir, env: o.env, run: o.run });
  const available = pluginVersions(o.mindspore.plugins);
  const plugin = selectPlugin({ mindspore: o.mindspore.version, available, cudaHome: plan.cudaHome, nvcc: plan.nvcc });
  const version = plugin.version ?? available.at(-1);
  const pluginFile = version ? pluginFileFor(o.mindspore.path, version) : undefined;
  let libraries: ResolvedLibrary[] = [];
  let lddError: string | undefined;
  if (pluginFile) {
    const ldPath = plan.env.LD_LIBRARY_PATH ?? o.env.LD_LIBRARY_PATH ?? "";
    const r = await o.run("ldd", [pluginFile], 15_000, { LD_LIBRARY_PATH: ldPath, PATH: o.env.PATH });
    if (r.found && r.exitCode === 0) libraries = cudaLibrariesFromLdd(r.stdout, plan.pipLibDirs, plan.cudaHome);
    else lddError = r.found ? (r.stderr || r.stdout).trim().split("\n")[0] ?? `exit ${r.exitCode}` : "ldd not found";
  }
  const smi = await gpus(o.run, o.env);
  return { mindspore: o.mindspore.version, plan, plugin, pluginFile, libraries, lddError, gpus: smi.gpus, smiError: smi.error };
}

/** Asks `python` for its MindSpore (PYTHON_PROBE), then gathers; undefined when it has none or does not run. */
export async function cudaFactsOf(o: Omit<CudaProbeInput, "mindspore">): Promise<CudaFacts | undefined> {
  const r = await o.run(o.python, ["-c", PYTHON_PROBE], 30_000);
  let facts: PythonFacts;
  try {
    facts = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as PythonFacts;
  } catch {
    return undefined;
  }
  const ms = facts.mindspore;
  if (r.exitCode !== 0 || !ms?.path || !ms.version) return undefined;
  return gatherCudaFacts({ ...o, mindspore: { path: ms.path, version: ms.version, plugins: ms.plugins } });
}
