// MindSpore's GPU rules as data: which plugin CUDA_HOME's nvcc selects, what the plugin links, where PyPI has it, and what a GPU's compute capability means.
// Sources: docs/devices.md and shared/reference/mindspore-gpu.md (MindSpore 2.3.1-2.10 device_context_manager.cc, the 2.7.2/2.10 wheels).

/** Every CUDA library the 11.x GPU plugins link, with the PyPI wheel that provides it (null: the driver's own). */
export const PLUGIN_LIBRARIES: Record<string, string | null> = {
  "libcudart.so.11.0": "nvidia-cuda-runtime-cu11",
  "libcublas.so.11": "nvidia-cublas-cu11",
  "libcublasLt.so.11": "nvidia-cublas-cu11",
  "libcudnn.so.8": "nvidia-cudnn-cu11<9",
  "libcurand.so.10": "nvidia-curand-cu11",
  "libcusolver.so.11": "nvidia-cusolver-cu11",
  "libcufft.so.10": "nvidia-cufft-cu11",
  "libcusparse.so.11": "nvidia-cusparse-cu11",
  "libnvrtc.so.11.2": "nvidia-cuda-nvrtc-cu11",
  "libnvrtc.so.11.1": null,
  "libcuda.so.1": null,
};

/** The wheels for every plugin library, pinned as MindSpore's 11.6 plugin needs them (cuDNN 8, not 9). */
export const CU11_WHEELS = [...new Set(Object.values(PLUGIN_LIBRARIES).filter((w): w is string => w !== null))];

export const pipInstallLine = (python: string): string =>
  `${python} -m pip install ${CU11_WHEELS.map((w) => (w.includes("<") ? `"${w}"` : w)).join(" ")}`;

/** "Cuda compilation tools, release 11.8, V11.8.89" -> "11.8". */
export function nvccRelease(versionOutput: string): string | undefined {
  return /release (\d+\.\d+),/.exec(versionOutput)?.[1];
}

/** "gpu11.6" (a folder) or "libmindspore_gpu.so.11.6" (2.7+): the CUDA versions this MindSpore has plugins for. */
export function pluginVersions(plugins: string[]): string[] {
  const found = plugins.map((p) => /^gpu(\d+\.\d+)$/.exec(p)?.[1] ?? /^libmindspore_gpu\.so\.(\d+\.\d+)$/.exec(p)?.[1]);
  return [...new Set(found.filter((v): v is string => v !== undefined))].sort(compareVersions);
}

export function compareVersions(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

export interface PluginChoice {
  /** "11.6" when a plugin will be loaded. */
  version?: string;
  /** Why, or why none, in MindSpore's terms. */
  why: string;
}

/** MindSpore >= 2.3.1: no CUDA_HOME, no plugin; else `$CUDA_HOME/bin/nvcc --version`'s release picks the exact or nearest lower plugin of its major. */
export function selectPlugin(input: { mindspore: string; available: string[]; cudaHome?: string; nvcc?: { release?: string; error?: string } }): PluginChoice {
  const { available } = input;
  if (!available.length) return { why: `MindSpore ${input.mindspore} ships no GPU plugin` };
  if (compareVersions(input.mindspore, "2.3.1") < 0) return { version: available.at(-1), why: `MindSpore ${input.mindspore} tries its plugins from the newest down` };
  if (!input.cudaHome) return { why: "CUDA_HOME is not set, so MindSpore skips its GPU plugin (and runs on CPU)" };
  if (!input.nvcc || input.nvcc.error) return { why: `no nvcc at ${input.cudaHome}/bin/nvcc${input.nvcc?.error ? ` (${input.nvcc.error})` : ""}, so MindSpore loads no GPU plugin` };
  const release = input.nvcc.release;
  if (!release) return { why: `${input.cudaHome}/bin/nvcc --version reports no release, so MindSpore loads no GPU plugin` };
  const major = release.split(".")[0];
  const fits = available.filter((v) => v.split(".")[0] === major && compareVersions(v, release) <= 0);
  if (!fits.length) return { why: `nvcc reports CUDA ${release}; MindSpore's plugins are for CUDA ${available.join(" and ")}: none loads` };
  return { version: fits.at(-1), why: `nvcc reports CUDA ${release}, which selects the CUDA ${fits.at(-1)} plugin` };
}

export interface ResolvedLibrary {
  name: string;
  path: string | null;
  /** Where it resolved from: the pip wheels in the sidecar's Python, CUDA_HOME, or the system's loader paths. */
  source: "pip" | "CUDA_HOME" | "system" | null;
}

/** The plugin's CUDA libraries from `ldd` output ("libcudart.so.11.0 => /x/libcudart.so.11.0 (0x...)" or "=> not found"). */
export function cudaLibrariesFromLdd(output: string, pipDirs: string[], cudaHome?: string): ResolvedLibrary[] {
  const libraries: ResolvedLibrary[] = [];
  for (const line of output.split("\n")) {
    const m = /^\s*(\S+)\s+=>\s+(not found|(\S+))/.exec(line);
    if (!m || !(m[1]! in PLUGIN_LIBRARIES)) continue;
    const path = m[3] ?? null;
    const source = path === null ? null
      : pipDirs.some((d) => path.startsWith(d + "/")) ? "pip"
        : cudaHome && path.startsWith(cudaHome + "/") ? "CUDA_HOME" : "system";
    libraries.push({ name: m[1]!, path, source });
  }
  return libraries;
}

/** Kernel code in the 2.7/2.10 wheels: SASS for sm_60..sm_80 and PTX for compute_60 and compute_86. */
export function computeCapabilityNote(cap: string): { ok: boolean; note: string } {
  const [major = 0, minor = 0] = cap.split(".").map(Number);
  const value = major * 10 + minor;
  if (value < 60) return { ok: false, note: `compute capability ${cap} is below 6.0, the oldest MindSpore's kernels are built for` };
  if (major <= 8 && value <= 80) return { ok: true, note: `compute capability ${cap} runs MindSpore's native kernels` };
  if (major === 8) return { ok: true, note: `compute capability ${cap} runs the sm_80 kernels (same major); if the driver JITs the compute_86 PTX instead, the first start takes minutes` };
  return { ok: true, note: `compute capability ${cap} has no native MindSpore kernels: the driver compiles the compute_86 PTX at the first start (minutes; cached after)` };
}
