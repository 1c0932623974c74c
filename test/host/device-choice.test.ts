// --device auto with injected probes: Ascend first, GPU only when MindSpore runs there, else CPU; the CPU RAM refusal.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseDevice, resolveDevice, type DeviceProbes } from "../../src/host/device-choice.ts";
import { ramWithin, type RunCommand } from "../../src/host/host-probes.ts";
import { DeviceChoiceError } from "../../src/host/memory-needs.ts";
import { GB, notFound, ran } from "./facts-fixture.ts";

const GPU_OK = "MindSpore version: 2.2.14\nThe result of multiplication calculation is correct, MindSpore has been installed on platform [GPU] successfully!";

function probes(commands: Record<string, ReturnType<typeof ran>>, davinci: string[] = [], python?: string): DeviceProbes & { calls: string[] } {
  const calls: string[] = [];
  const run: RunCommand = async (file) => {
    calls.push(file);
    return commands[file] ?? notFound;
  };
  return { run, davinci: async () => davinci, python, calls };
}

describe("chooseDevice", () => {
  it("picks Ascend when npu-smi works, or when /dev/davinci* exist", async () => {
    expect((await chooseDevice(probes({ "npu-smi": ran("npu-smi 23.0.rc1") }))).target).toBe("Ascend");
    const byDev = await chooseDevice(probes({}, ["/dev/davinci0"]));
    expect(byDev).toEqual({ target: "Ascend", reason: "/dev/davinci0 present" });
  });

  it("picks GPU only when nvidia-smi works and MindSpore's GPU run_check passes", async () => {
    const gpu = await chooseDevice(probes({ "nvidia-smi": ran("GPU 0: H100"), "/py": ran(GPU_OK) }, [], "/py"));
    expect(gpu.target).toBe("GPU");
    const noPlugin = await chooseDevice(probes({ "nvidia-smi": ran("GPU 0: H100"), "/py": ran("", 1, "Unsupported device target GPU") }, [], "/py"));
    expect(noPlugin).toMatchObject({ target: "CPU", reason: expect.stringContaining("GPU run_check failed: Unsupported device target GPU") });
    expect((await chooseDevice(probes({ "nvidia-smi": ran("GPU 0") }))).target).toBe("CPU");
  });

  it("falls back to CPU, and a failing npu-smi does not count", async () => {
    expect(await chooseDevice(probes({ "npu-smi": ran("", 1, "dcmi error") }))).toEqual({ target: "CPU", reason: "no Ascend NPU or NVIDIA GPU visible" });
  });
});

describe("resolveDevice", () => {
  const realModel = mkdtempSync(join(tmpdir(), "glm-dev-"));
  const tinyModel = mkdtempSync(join(tmpdir(), "glm-dev-tiny-"));
  writeFileSync(join(tinyModel, "glm_config.json"), JSON.stringify({ num_layers: 2, hidden_size: 64, inner_hidden_size: 170, vocab_size: 832, seq_length: 256 }));
  const small = () => ({ totalBytes: 16 * GB, availableBytes: 10 * GB });
  const base = { device: "auto" as const, deviceId: 0, modelDir: realModel, loadsModel: true, force: false };

  it("refuses ChatGLM-6B on a CPU with too little RAM, with the estimate's breakdown", async () => {
    const error = await resolveDevice(base, probes({}), small).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceChoiceError);
    expect((error as DeviceChoiceError).code).toBe("DEVICE_NOT_ENOUGH_RAM");
    expect((error as Error).message).toMatch(
      /ChatGLM-6B on CPU needs RAM for about 30\.9 GB: 26\.8 GB weights \(float32\) \+ 1\.9 GB cache for 2,048 tokens \+ 1\.7 GB working memory \+ 530\.0 MB runtime; this machine has 16\.0 GB \(10\.0 GB available\).*--force/);
  });

  it("speaks of the memory cgroup when its limit is what is short", async () => {
    const notebook = () => ramWithin({ totalBytes: 25.3 * GB, availableBytes: 24.4 * GB }, { version: 2, dir: "/x", limitBytes: 8 * GB, usedBytes: GB, oomKills: 0 });
    const error = await resolveDevice({ ...base, precision: "float16" }, probes({}), notebook).catch((e: unknown) => e);
    expect((error as DeviceChoiceError).code).toBe("DEVICE_NOT_ENOUGH_RAM");
    expect((error as Error).message).toMatch(/needs RAM for about 16\.6 GB: .*; this process's memory cgroup \(v2\) allows 8\.0 GB \(7\.0 GB available\)\. Use .*a higher memory limit for this container or notebook, or --force/);
  });

  it("suggests --precision float16 where it fits, and lets it through", async () => {
    const twenty = () => ({ totalBytes: 20 * GB, availableBytes: 18 * GB });
    const error = await resolveDevice(base, probes({}), twenty).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/--precision float16 \(the native engine, about 16\.6 GB\), a smaller --seq-length/);
    expect((await resolveDevice({ ...base, precision: "float16" }, probes({}), twenty)).target).toBe("CPU");
    const twelve = () => ({ totalBytes: 12 * GB, availableBytes: 10 * GB });
    const tooSmall = await resolveDevice({ ...base, precision: "float16" }, probes({}), twelve).catch((e: unknown) => e);
    expect((tooSmall as Error).message).toMatch(/needs RAM for about 16\.6 GB: 13\.4 GB weights \(float16\)/);
    expect((tooSmall as Error).message).not.toContain("--precision");
  });

  it("counts --seq-length, and MindFormers' float32 whatever --precision says", async () => {
    const fifteen = () => ({ totalBytes: 15 * GB, availableBytes: 14 * GB });
    const half = { ...base, precision: "float16" as const };
    expect(await resolveDevice(half, probes({}), fifteen).catch((e: unknown) => e)).toBeInstanceOf(DeviceChoiceError);
    expect((await resolveDevice({ ...half, seqLength: 256 }, probes({}), fifteen)).target).toBe("CPU"); // 14.5 GB at 256 tokens
    const twenty = () => ({ totalBytes: 20 * GB, availableBytes: 18 * GB });
    const mindformers = await resolveDevice({ ...half, engine: "mindformers" }, probes({}), twenty).catch((e: unknown) => e);
    expect((mindformers as Error).message).toContain("weights (float32)");
  });

  it("lets --force, a custom model, enough RAM or an explicit non-CPU device through", async () => {
    expect((await resolveDevice({ ...base, force: true }, probes({}), small)).target).toBe("CPU");
    expect((await resolveDevice({ ...base, modelDir: tinyModel }, probes({}), small)).target).toBe("CPU");
    expect((await resolveDevice(base, probes({}), () => ({ totalBytes: 64 * GB, availableBytes: 60 * GB }))).target).toBe("CPU");
    expect(await resolveDevice({ ...base, device: "Ascend" }, probes({}), small)).toEqual({ target: "Ascend", reason: "--device" });
  });

  it("probes nothing when no model is loaded (--dry-run, fake engine)", async () => {
    const p = probes({ "npu-smi": ran("ok") });
    expect((await resolveDevice({ ...base, loadsModel: false }, p, small)).target).toBe("CPU");
    expect(p.calls).toEqual([]);
  });
});
