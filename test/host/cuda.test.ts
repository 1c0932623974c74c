// MindSpore's GPU rules on fake NVIDIA boxes (cc-built library stand-ins, pip's layout, fake nvcc and nvidia-smi): plugin choice, ldd, the stand-in, the checks and --device GPU/auto.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { appPaths } from "../../src/config/paths.ts";
import { checkCuda, gpuBlockers } from "../../src/host/checks-cuda.ts";
import { gatherCudaFacts, type CudaFacts } from "../../src/host/cuda-probe.ts";
import { computeCapabilityNote, PLUGIN_LIBRARIES, pluginVersions, selectPlugin } from "../../src/host/cuda-rules.ts";
import { chooseDevice, resolveDevice } from "../../src/host/device-choice.ts";
import { runCommand, type RunCommand } from "../../src/host/host-probes.ts";
import { DeviceChoiceError } from "../../src/host/memory-needs.ts";
import { ALL_PIP, makeFakeCudaBox, PLUGIN_NEEDS, removeFakeCudaBoxes, type FakeCudaBox } from "./fake-cuda-box.ts";

const sidecarDir = appPaths().sidecarDir;
afterAll(removeFakeCudaBoxes);

/** The real probes, with the box's PATH, CUDA_HOME and LD_LIBRARY_PATH as the environment glm-chat runs in. */
function facts(box: FakeCudaBox, version = "2.7.2"): Promise<CudaFacts> {
  const run: RunCommand = (file, args, timeoutMs, env) => runCommand(file, args, timeoutMs, { ...box.env, ...env });
  return gatherCudaFacts({ run, env: { ...process.env, CUDA_HOME: undefined, ...box.env }, python: box.python, sidecarDir,
    mindspore: { path: box.msPath, version, plugins: ["cpu", "gpu", "gpu11.1", "gpu11.6", "libmindspore_gpu.so.11.1", "libmindspore_gpu.so.11.6"] } });
}

const byId = (results: ReturnType<typeof checkCuda>, id: string) => results.find((r) => r.id === id)!;

describe("MindSpore's plugin selection (2.3.1+)", () => {
  it("takes the exact or nearest lower plugin of nvcc's major, and none without CUDA_HOME or for CUDA 12", () => {
    const available = pluginVersions(["gpu11.1", "gpu11.6", "libmindspore_gpu.so.11.6", "cpu"]);
    expect(available).toEqual(["11.1", "11.6"]);
    const pick = (release?: string, cudaHome: string | undefined = "/cuda") => selectPlugin({ mindspore: "2.7.2", available, cudaHome, nvcc: { release } }).version;
    expect([pick("11.8"), pick("11.6"), pick("11.5"), pick("11.1"), pick("11.0"), pick("12.4"), pick("11.8", "")])
      .toEqual(["11.6", "11.6", "11.1", "11.1", undefined, undefined, undefined]);
    expect(selectPlugin({ mindspore: "2.2.14", available, nvcc: undefined }).version).toBe("11.6");
    expect(selectPlugin({ mindspore: "2.7.2", available, cudaHome: "/c", nvcc: { error: "not found" } }).why).toContain("no nvcc at /c/bin/nvcc");
  });

  it("knows which compute capabilities run native kernels and which JIT the PTX", () => {
    expect(computeCapabilityNote("8.0")).toMatchObject({ ok: true, note: expect.stringContaining("native") });
    expect(computeCapabilityNote("9.0").note).toContain("compiles the compute_86 PTX at the first start");
    expect(computeCapabilityNote("8.9").note).toContain("compute_86 PTX");
    expect(computeCapabilityNote("5.2").ok).toBe(false);
  });
});

describe("a GPU box with the CUDA 11 libraries from pip and no toolkit", () => {
  it("uses the nvcc stand-in, finds every library in pip's folders and the driver's libcuda, and says so", async () => {
    const box = makeFakeCudaBox({ pip: ALL_PIP });
    const cuda = await facts(box);
    expect(cuda.plan.standIn).toBe(true);
    expect(cuda.plan.env.CUDA_HOME).toBe(join(sidecarDir, "cuda-standin"));
    expect(cuda.plan.env.LD_LIBRARY_PATH!.split(":")).toEqual([...cuda.plan.pipLibDirs, box.driverDir]);
    expect(cuda.plan.pipLibDirs).toHaveLength(8);
    expect(cuda.plugin).toEqual({ version: "11.6", why: "nvcc reports CUDA 11.8, which selects the CUDA 11.6 plugin" });
    expect(cuda.libraries.filter((l) => l.source === "pip")).toHaveLength(8);
    expect(cuda.libraries.find((l) => l.name === "libcuda.so.1")).toMatchObject({ source: "system", path: join(box.driverDir, "libcuda.so.1") });
    const results = checkCuda({ cuda, wanted: true, python: box.python });
    expect(byId(results, "gpu_plugin")).toMatchObject({ status: "warn", detail: expect.stringContaining("nvcc stand-in is in use") });
    expect(byId(results, "cuda_libs")).toMatchObject({ status: "ok", detail: expect.stringContaining("all 9 the plugin links resolve (8 from pip, 1 from system)") });
    expect(byId(results, "gpu_arch")).toMatchObject({ status: "warn", detail: expect.stringContaining("NVIDIA H200, driver 550.54.15") });
    expect(gpuBlockers(cuda, box.python)).toEqual([]);
  }, 60_000);

  it("names the missing wheel (cuDNN pinned below 9) and fails --device GPU before the sidecar starts", async () => {
    const box = makeFakeCudaBox({ pip: ALL_PIP.filter((n) => n !== "libcudnn.so.8") });
    const cuda = await facts(box);
    const libs = byId(checkCuda({ cuda, wanted: true, python: box.python }), "cuda_libs");
    expect(libs).toMatchObject({ status: "fail", detail: expect.stringMatching(/^missing: libcudnn\.so\.8; found 7 from pip, 1 from system/) });
    expect(libs.fix).toContain(`${box.python} -m pip install "nvidia-cudnn-cu11<9"`);
    const input = { device: "GPU" as const, deviceId: 0, modelDir: box.root, loadsModel: true, force: false, python: box.python };
    const error = await resolveDevice(input, { run: runCommand, davinci: async () => [], cuda: async () => cuda }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceChoiceError);
    expect((error as DeviceChoiceError).code).toBe("DEVICE_GPU_NOT_READY");
    expect((error as Error).message).toMatch(/CUDA libraries: missing: libcudnn\.so\.8.*fix: .*nvidia-cudnn-cu11<9/);
  }, 60_000);
});

describe("--device GPU where there is no GPU", () => {
  it("says so first and offers --device CPU, without the CUDA library advice", async () => {
    const box = makeFakeCudaBox({ pip: [], driver: false });
    const cuda = { ...(await facts(box)), gpus: [], smiError: "nvidia-smi not found" };
    const input = { device: "GPU" as const, deviceId: 0, modelDir: box.root, loadsModel: true, force: false, python: box.python };
    const error = (await resolveDevice(input, { run: runCommand, davinci: async () => [], cuda: async () => cuda }).catch((e: unknown) => e)) as DeviceChoiceError;
    expect(error.code).toBe("DEVICE_GPU_NOT_READY");
    expect(error.message).toBe("--device GPU, but this machine shows no NVIDIA GPU (nvidia-smi not found): use --device CPU (or --device auto, " +
      "which picks what is there), or run where a GPU is visible (in Docker: --gpus all)");
  }, 60_000);

  it("a GPU MindSpore cannot use gets its blockers, then --device CPU", async () => {
    const box = makeFakeCudaBox({ pip: [], driver: false });
    const cuda = await facts(box);
    const input = { device: "GPU" as const, deviceId: 0, modelDir: box.root, loadsModel: true, force: false, python: box.python };
    const error = (await resolveDevice(input, { run: runCommand, davinci: async () => [], cuda: async () => cuda }).catch((e: unknown) => e)) as Error;
    expect(error.message.split("\n").at(-1)).toBe("Meanwhile --device CPU works; glm-chat doctor --device GPU shows every GPU fact.");
  }, 60_000);
});

describe("a GPU box without the libraries", () => {
  it("with no CUDA_HOME: no plugin loads, and the fix is a toolkit or the one-line pip install", async () => {
    const box = makeFakeCudaBox({ pip: [], driver: false });
    const cuda = await facts(box);
    expect(cuda.plan).toMatchObject({ standIn: false, env: {} });
    const results = checkCuda({ cuda, wanted: true, python: box.python });
    expect(byId(results, "gpu_plugin")).toMatchObject({ status: "fail", detail: expect.stringContaining("CUDA_HOME is not set") });
    expect(byId(results, "gpu_plugin").fix).toMatch(/CUDA 11\.6-11\.8 toolkit.*-m pip install nvidia-cuda-runtime-cu11 nvidia-cublas-cu11 "nvidia-cudnn-cu11<9"/);
    expect(byId(results, "cuda_libs").detail).toMatch(/^missing: libcudart\.so\.11\.0, .*libcuda\.so\.1/);
    expect(byId(results, "cuda_libs").fix).toContain("libcuda.so.1 is the NVIDIA driver's");
    // --device auto: CPU, and the reason is the rule, not "cannot run on it".
    const choice = await chooseDevice({ run: (f, a, t, e) => runCommand(f, a, t, { ...box.env, ...e }), davinci: async () => [], python: box.python, cuda: async () => cuda });
    expect(choice).toMatchObject({ target: "CPU", reason: expect.stringContaining("MindSpore cannot use it: MindSpore GPU plugin: none will load: CUDA_HOME is not set") });
  }, 60_000);

  it("with a CUDA 12 toolkit: nvcc 12.4 selects nothing, in the user's terms", async () => {
    const cuda = await facts(makeFakeCudaBox({ pip: [], nvcc: "12.4" }));
    expect(cuda.plugin.why).toBe("nvcc reports CUDA 12.4; MindSpore's plugins are for CUDA 11.1 and 11.6: none loads");
  }, 60_000);

  it("with a CUDA 12 toolkit and the pip libraries: the stand-in replaces CUDA_HOME for the sidecar, and doctor says so", async () => {
    const box = makeFakeCudaBox({ pip: ALL_PIP, nvcc: "12.4" });
    const cuda = await facts(box);
    expect(cuda.plan.replaced).toMatchObject({ cudaHome: box.env.CUDA_HOME, nvcc: { release: "12.4" } });
    expect(byId(checkCuda({ cuda, wanted: true, python: box.python }), "gpu_plugin").detail).toContain(`your CUDA_HOME=${box.env.CUDA_HOME} (nvcc 12.4) is not used`);
  }, 60_000);

  it("with a CUDA 11.8 toolkit: its nvcc is used, no stand-in", async () => {
    const cuda = await facts(makeFakeCudaBox({ pip: ALL_PIP, nvcc: "11.8" }));
    expect(cuda.plan.standIn).toBe(false);
    expect(byId(checkCuda({ cuda, wanted: true, python: "py" }), "gpu_plugin")).toMatchObject({ status: "ok" });
  }, 60_000);

  it("an old driver or an old GPU fails, with the minimum", async () => {
    const cuda = await facts(makeFakeCudaBox({ pip: ALL_PIP, smi: "Tesla M40, 470.82.01, 5.2" }));
    const arch = byId(checkCuda({ cuda, wanted: true, python: "py" }), "gpu_arch");
    expect(arch).toMatchObject({ status: "fail", fix: expect.stringContaining("needs driver 510.39.01 or newer") });
  }, 60_000);
});

describe("glm-chat's nvcc stand-in", () => {
  it("reports CUDA 11.8 for --version and refuses to compile", async () => {
    const nvcc = join(sidecarDir, "cuda-standin", "bin", "nvcc");
    expect((await execa(nvcc, ["--version"])).stdout).toContain("Cuda compilation tools, release 11.8, V11.8.89");
    const compile = await execa(nvcc, ["-c", "x.cu"], { reject: false });
    expect(compile.exitCode).toBe(1);
    expect(compile.stderr).toContain("cannot compile");
  });
});

// The managed venv's real MindSpore wheel: its plugin links exactly the libraries the rules know.
const msPlugin = (() => {
  const python = process.env.GLM_CHAT_PYTHON;
  if (!python) return undefined;
  const lib = join(python, "..", "..", "lib");
  const site = existsSync(lib) ? readdirSync(lib).map((d) => join(lib, d, "site-packages", "mindspore", "lib", "plugin", "libmindspore_gpu.so.11.6")) : [];
  return site.find((p) => existsSync(p));
})();

describe.skipIf(!msPlugin)("MindSpore's real 11.6 plugin", () => {
  it("links, on a box without CUDA, exactly the libraries the rules and the fake plugin know", async () => {
    const ldd = await runCommand("ldd", [msPlugin!], 15_000, { LD_LIBRARY_PATH: "" });
    const missing = [...ldd.stdout.matchAll(/^\s*(\S+)\s+=>\s+not found/gm)].map((m) => m[1]).sort();
    expect(missing).toEqual([...PLUGIN_NEEDS].sort());
    expect(missing.every((name) => name! in PLUGIN_LIBRARIES)).toBe(true);
  });
});

describe.skipIf(!msPlugin)("glm-chat doctor --device GPU on the fake box with the real MindSpore", () => {
  it("reports the stand-in, every library resolved from pip and the driver dir, the H200's PTX start, and run_check's failure", async () => {
    const box = makeFakeCudaBox({ pip: ALL_PIP, python: process.env.GLM_CHAT_PYTHON });
    const result = await execa(process.execPath, ["bin/glm-chat.js", "doctor", "--json", "--offline", "--device", "GPU", "--python", box.python,
      "--model-dir", box.root], { reject: false, env: { ...box.env, CUDA_HOME: "" } });
    const report = JSON.parse(result.stdout) as { checks: { id: string; status: string; detail: string; fix?: string }[] };
    const check = (id: string) => report.checks.find((c) => c.id === id);
    expect(check("gpu_plugin")).toMatchObject({ status: "warn", detail: expect.stringContaining("nvcc stand-in is in use") });
    expect(check("cuda_libs")).toMatchObject({ status: "ok", detail: expect.stringContaining("(8 from pip, 1 from system)") });
    expect(check("gpu_arch")?.detail).toContain("compiles the compute_86 PTX");
    // The stand-ins are empty libraries: MindSpore's own self-test fails with them, and says it.
    expect(check("run_check")).toMatchObject({ status: "fail", fix: expect.stringContaining("GPU plugin and CUDA libraries lines") });
    // ...after MindSpore took the stand-in's word and tried its CUDA 11.6 plugin.
    expect(check("run_check")?.detail).toMatch(/RuntimeError: Unsupported device target GPU \| Load dynamic library: libmindspore_gpu\.so\.11\.6 failed/);
    expect(result.exitCode).toBe(1);
  }, 180_000);
});

describe.skipIf(!process.env.GLM_CHAT_PYTHON || !process.env.GLM_CHAT_TINY_MODEL_DIR)("a GPU sidecar's environment", () => {
  it("has pip's CUDA folders first on LD_LIBRARY_PATH and CUDA_HOME at the stand-in (fake engine, real supervisor)", async () => {
    const { realSidecarLaunch, removeLaunchDirs } = await import("../e2e/real-sidecar.ts");
    const { SidecarBackend } = await import("../../src/sidecar/sidecar-backend.ts");
    const box = makeFakeCudaBox({ pip: ALL_PIP, python: process.env.GLM_CHAT_PYTHON });
    const saved = { cuda: process.env.CUDA_HOME, ld: process.env.LD_LIBRARY_PATH };
    delete process.env.CUDA_HOME;
    process.env.LD_LIBRARY_PATH = box.driverDir;
    const backend = new SidecarBackend(realSidecarLaunch({ engine: "fake", deviceTarget: "GPU", python: box.python }));
    try {
      const sidecar = await backend.start();
      const environ = readFileSync(`/proc/${sidecar.pid}/environ`, "utf8").split("\0");
      const ld = environ.find((e) => e.startsWith("LD_LIBRARY_PATH="))!.slice("LD_LIBRARY_PATH=".length).split(":");
      expect(ld.slice(0, 8).every((d) => d.startsWith(join(box.site, "nvidia")))).toBe(true);
      expect(ld.at(-1)).toBe(box.driverDir);
      expect(environ).toContain(`CUDA_HOME=${join(sidecarDir, "cuda-standin")}`);
    } finally {
      await backend.close();
      removeLaunchDirs();
      for (const [name, value] of [["CUDA_HOME", saved.cuda], ["LD_LIBRARY_PATH", saved.ld]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }, 60_000);
});
