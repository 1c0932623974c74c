// The environment a GPU sidecar starts with: the CUDA 11 libraries pip put in its Python on LD_LIBRARY_PATH, and CUDA_HOME at glm-chat's nvcc stand-in when no CUDA 11 toolkit is there.
import { join } from "node:path";
import { nvccRelease } from "./cuda-rules.ts";
import type { RunCommand } from "./host-probes.ts";

/** Lists site-packages/nvidia/<name>/lib of the nvidia-*-cu11 wheels (a namespace package: no import of CUDA code). */
export const NVIDIA_LIB_DIRS_PY = String.raw`
import importlib.util, json, os
spec = importlib.util.find_spec("nvidia")
dirs = []
for base in (list(spec.submodule_search_locations) if spec and spec.submodule_search_locations else []):
    for name in sorted(os.listdir(base)):
        if os.path.isdir(os.path.join(base, name, "lib")):
            dirs.append(os.path.join(base, name, "lib"))
print(json.dumps(dirs))
`;

export interface NvccFacts {
  path: string;
  release?: string;
  error?: string;
}

export interface GpuLaunchPlan {
  /** Added to the sidecar's environment. */
  env: Record<string, string>;
  pipLibDirs: string[];
  /** The CUDA_HOME the sidecar gets (the user's, or the stand-in). */
  cudaHome?: string;
  standIn: boolean;
  /** What that CUDA_HOME's nvcc reports. */
  nvcc?: NvccFacts;
  /** The user's own CUDA_HOME and its nvcc, when the stand-in replaces it. */
  replaced?: { cudaHome: string; nvcc: NvccFacts };
}

export const standInHome = (sidecarDir: string): string => join(sidecarDir, "cuda-standin");

async function nvccOf(run: RunCommand, cudaHome: string): Promise<NvccFacts> {
  const path = join(cudaHome, "bin", "nvcc");
  const r = await run(path, ["--version"], 15_000);
  if (!r.found) return { path, error: "not found" };
  if (r.exitCode !== 0) return { path, error: `exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split("\n")[0] ?? ""}` };
  return { path, release: nvccRelease(r.stdout) };
}

async function pipLibDirsOf(run: RunCommand, python: string): Promise<string[]> {
  const r = await run(python, ["-c", NVIDIA_LIB_DIRS_PY], 30_000);
  try {
    return r.exitCode === 0 ? (JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "[]") as string[]) : [];
  } catch {
    return [];
  }
}

/** The user's CUDA_HOME when its nvcc reports CUDA 11; else, when pip provides the libraries, the stand-in. */
export async function gpuLaunchPlan(o: { python: string; sidecarDir: string; env: NodeJS.ProcessEnv; run: RunCommand }): Promise<GpuLaunchPlan> {
  const pipLibDirs = await pipLibDirsOf(o.run, o.python);
  const env: Record<string, string> = {};
  if (pipLibDirs.length) env.LD_LIBRARY_PATH = [...pipLibDirs, o.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  const userHome = o.env.CUDA_HOME || undefined;
  const userNvcc = userHome ? await nvccOf(o.run, userHome) : undefined;
  if ((userHome && userNvcc?.release?.startsWith("11.")) || !pipLibDirs.length) {
    return { env, pipLibDirs, cudaHome: userHome, standIn: false, nvcc: userNvcc };
  }
  const home = standInHome(o.sidecarDir);
  env.CUDA_HOME = home;
  const replaced = userHome && userNvcc ? { cudaHome: userHome, nvcc: userNvcc } : undefined;
  return { env, pipLibDirs, cudaHome: home, standIn: true, nvcc: await nvccOf(o.run, home), replaced };
}
