// A fake NVIDIA box in a temp dir: real ELF stand-ins for the CUDA 11 libraries (built with cc), pip's nvidia/*/lib layout, a driver dir, nvcc and nvidia-smi scripts.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execaSync } from "execa";
import { PLUGIN_LIBRARIES } from "../../src/host/cuda-rules.ts";

/** The pip wheel folder (site-packages/nvidia/<dir>/lib) each library sits in. */
const PIP_DIR: Record<string, string> = {
  "libcudart.so.11.0": "cuda_runtime", "libcublas.so.11": "cublas", "libcublasLt.so.11": "cublas", "libcudnn.so.8": "cudnn",
  "libcurand.so.10": "curand", "libcusolver.so.11": "cusolver", "libcufft.so.10": "cufft", "libcusparse.so.11": "cusparse",
  "libnvrtc.so.11.2": "cuda_nvrtc",
};
/** What MindSpore's 11.6 plugin links (its ldd lists these); libcublasLt comes with cublas. */
export const PLUGIN_NEEDS = ["libcudart.so.11.0", "libcublas.so.11", "libcudnn.so.8", "libcurand.so.10", "libcusolver.so.11",
  "libcufft.so.10", "libcusparse.so.11", "libnvrtc.so.11.2", "libcuda.so.1"];

const script = (path: string, body: string) => {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
};

export interface FakeCudaBox {
  root: string;
  bin: string;
  site: string;
  driverDir: string;
  /** A MindSpore-shaped tree whose lib/plugin/libmindspore_gpu.so.11.6 links PLUGIN_NEEDS. */
  msPath: string;
  /** A `python` that sees `site` (the fake wheels) on its path. */
  python: string;
  env: Record<string, string>;
}

const made: string[] = [];

/** Removes every box this test file made; call in afterAll. */
export function removeFakeCudaBoxes(): void {
  for (const root of made.splice(0)) rmSync(root, { recursive: true, force: true });
}

export function makeFakeCudaBox(o: { pip: string[]; driver?: boolean; nvcc?: string; smi?: string; python?: string }): FakeCudaBox {
  const root = mkdtempSync(join(tmpdir(), "glm-fake-cuda-"));
  made.push(root);
  const built = join(root, "built");
  const bin = join(root, "bin");
  const site = join(root, "site");
  const driverDir = join(root, "driver");
  const msPath = join(root, "mindspore");
  for (const d of [built, bin, site, driverDir, join(msPath, "lib", "plugin")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(root, "empty.c"), "int glm_chat_fake_symbol = 1;\n");
  for (const name of Object.keys(PLUGIN_LIBRARIES)) {
    execaSync("cc", ["-shared", "-fPIC", `-Wl,-soname,${name}`, "-o", join(built, name), join(root, "empty.c")]);
  }
  execaSync("cc", ["-shared", "-fPIC", "-o", join(msPath, "lib", "plugin", "libmindspore_gpu.so.11.6"), join(root, "empty.c"),
    `-L${built}`, "-Wl,--no-as-needed", ...PLUGIN_NEEDS.map((n) => `-l:${n}`)]);
  for (const name of o.pip) {
    const dir = join(site, "nvidia", PIP_DIR[name]!, "lib");
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(built, name), join(dir, name));
  }
  if (o.driver !== false) copyFileSync(join(built, "libcuda.so.1"), join(driverDir, "libcuda.so.1"));
  const python = join(bin, "fake-python");
  script(python, `PYTHONPATH="${site}\${PYTHONPATH:+:$PYTHONPATH}" exec "${o.python ?? "python3"}" "$@"`);
  script(join(bin, "nvidia-smi"), `echo "${o.smi ?? "NVIDIA H200, 550.54.15, 9.0"}"`);
  const env: Record<string, string> = { PATH: `${bin}:${process.env.PATH}`, LD_LIBRARY_PATH: driverDir };
  if (o.nvcc) {
    mkdirSync(join(root, "cuda", "bin"), { recursive: true });
    script(join(root, "cuda", "bin", "nvcc"), `echo "nvcc: NVIDIA (R) Cuda compiler driver"\necho "Cuda compilation tools, release ${o.nvcc}, V${o.nvcc}.0"`);
    env.CUDA_HOME = join(root, "cuda");
  }
  return { root, bin, site, driverDir, msPath, python, env };
}

export const ALL_PIP = Object.keys(PIP_DIR).filter((n) => n !== "libcublasLt.so.11");
