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

  it("--precision auto refuses ChatGLM-6B where not even int4 fits, with every precision's need", async () => {
    const tiny = () => ({ totalBytes: 8 * GB, availableBytes: 5.5 * GB }); // int4 needs 5.2 GB, 5.8 GB with the margin
    const error = await resolveDevice(base, probes({}), tiny).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceChoiceError);
    expect((error as DeviceChoiceError).code).toBe("DEVICE_NOT_ENOUGH_RAM");
    expect((error as Error).message).toBe("--precision auto: ChatGLM-6B on CPU does not fit in any precision: it needs float16 about 15.6 GB, " +
      "int8 about 8.3 GB, int4 about 5.2 GB (each plus a 10 % margin), and there is 5.5 GB of RAM available (the machine has 8.0 GB in all). " +
      "Use an Ascend NPU (--device Ascend), a smaller --seq-length (now 2,048), a machine with more memory, or --force to try int4 anyway.");
    expect((await resolveDevice({ ...base, force: true }, probes({}), tiny)).precision).toMatchObject({ precision: "int4", auto: true });
  });

  it("explicit --precision float32 is checked against the RAM there is, and offers the first smaller precision that fits", async () => {
    const error = await resolveDevice({ ...base, precision: "float32" }, probes({}), small).catch((e: unknown) => e);
    expect((error as DeviceChoiceError).code).toBe("DEVICE_NOT_ENOUGH_RAM");
    expect((error as Error).message).toMatch(
      /ChatGLM-6B on CPU needs RAM for about 30\.9 GB: 26\.8 GB weights \(float32\) \+ 1\.9 GB cache for 2,048 tokens \+ 1\.7 GB working memory \+ 530\.0 MB runtime; this machine has 16\.0 GB \(10\.0 GB available\).*--force/);
    expect((error as Error).message).toContain("--precision float16 (the native engine, about 15.6 GB)");
  });

  it("speaks of the memory cgroup when its limit is what is short", async () => {
    const notebook = () => ramWithin({ totalBytes: 25.3 * GB, availableBytes: 24.4 * GB }, { version: 2, dir: "/x", limitBytes: 8 * GB, usedBytes: GB, oomKills: 0 });
    const error = await resolveDevice({ ...base, precision: "float16" }, probes({}), notebook).catch((e: unknown) => e);
    expect((error as DeviceChoiceError).code).toBe("DEVICE_NOT_ENOUGH_RAM");
    expect((error as Error).message).toMatch(/needs RAM for about 15\.6 GB: .*; this process's memory cgroup \(v2\) allows 8\.0 GB \(7\.0 GB available\)\. Use .*a higher memory limit for this container or notebook, or --force/);
  });

  it("--precision auto: float16 where it fits the RAM available with a 10 % margin, else int8, else int4", async () => {
    const at = (available: number) => resolveDevice(base, probes({}), () => ({ totalBytes: 64 * GB, availableBytes: available * GB }));
    expect((await at(32)).precision).toEqual({ precision: "float16", auto: true, reason: "auto: about 15.6 GB fits in 32.0 GB of RAM available" });
    expect((await at(17.3)).precision.precision).toBe("float16"); // 15.63 GB * 1.1 = 17.2 GB
    expect((await at(17.1)).precision).toEqual({ precision: "int8", auto: true,
      reason: "auto: float16 needs about 15.6 GB, more than 17.1 GB of RAM available with a 10 % margin; int8 needs about 8.3 GB" });
    expect((await at(12)).precision.precision).toBe("int8");
    expect((await at(9.2)).precision.precision).toBe("int8"); // 8.32 GB * 1.1 = 9.15 GB
    expect((await at(9.1)).precision).toMatchObject({ precision: "int4", reason: expect.stringMatching(/^auto: float16 needs about 15\.6 GB, int8 needs about 8\.3 GB, more than 9\.1 GB .*; int4 needs about 5\.2 GB$/) });
    expect((await at(5.8)).precision.precision).toBe("int4"); // 5.24 GB * 1.1 = 5.76 GB
  });

  it("--precision float16 where it fits, and an explicit choice as given", async () => {
    const twenty = () => ({ totalBytes: 20 * GB, availableBytes: 18 * GB });
    expect((await resolveDevice({ ...base, precision: "float16" }, probes({}), twenty)).precision).toEqual({ precision: "float16", auto: false, reason: "--precision float16" });
    expect((await resolveDevice({ ...base, precision: "int4" }, probes({}), twenty)).precision.precision).toBe("int4");
    const twelve = () => ({ totalBytes: 12 * GB, availableBytes: 10 * GB });
    const tooSmall = await resolveDevice({ ...base, precision: "float16" }, probes({}), twelve).catch((e: unknown) => e);
    expect((tooSmall as Error).message).toMatch(/needs RAM for about 15\.6 GB: 13\.4 GB weights \(float16\)/);
    expect((tooSmall as Error).message).toContain("--precision int8 (the native engine, about 8.3 GB)");
  });

  it("counts --seq-length, MindFormers' float32, and refuses a --precision MindFormers cannot run", async () => {
    const fifteen = () => ({ totalBytes: 15 * GB, availableBytes: 14 * GB });
    const half = { ...base, precision: "float16" as const };
    expect(await resolveDevice(half, probes({}), fifteen).catch((e: unknown) => e)).toBeInstanceOf(DeviceChoiceError);
    expect((await resolveDevice({ ...half, seqLength: 256 }, probes({}), fifteen)).target).toBe("CPU"); // 14.5 GB at 256 tokens
    const twenty = () => ({ totalBytes: 20 * GB, availableBytes: 18 * GB });
    const mindformers = await resolveDevice({ ...base, engine: "mindformers" }, probes({}), twenty).catch((e: unknown) => e);
    expect((mindformers as Error).message).toContain("weights (float32)");
    for (const precision of ["float16", "int8", "int4"] as const) {
      const refused = await resolveDevice({ ...base, precision, engine: "mindformers" }, probes({}), twenty).catch((e: unknown) => e);
      expect((refused as DeviceChoiceError).code).toBe("PRECISION_NOT_FOR_ENGINE");
      expect((refused as Error).message).toBe(`--engine mindformers runs GLM-6B in float32 on CPU; --precision ${precision} needs glm-chat's ` +
        "native engine: leave out --engine mindformers (or use --engine native).");
    }
    const onGpu = await resolveDevice({ ...base, device: "GPU", precision: "float16", engine: "mindformers" }, probes({}), twenty);
    expect(onGpu.precision.precision).toBe("float16");
    const room = await resolveDevice({ ...base, engine: "mindformers" }, probes({}), () => ({ totalBytes: 64 * GB, availableBytes: 60 * GB }));
    expect(room.precision).toEqual({ precision: "float32", auto: false, reason: "MindFormers runs float32 on CPU" });
  });

  it("lets --force, a custom model, enough RAM or an explicit non-CPU device through", async () => {
    expect((await resolveDevice({ ...base, precision: "float32", force: true }, probes({}), small)).target).toBe("CPU");
    expect((await resolveDevice({ ...base, modelDir: tinyModel }, probes({}), small)).target).toBe("CPU");
    expect((await resolveDevice(base, probes({}), () => ({ totalBytes: 64 * GB, availableBytes: 60 * GB }))).target).toBe("CPU");
    expect(await resolveDevice({ ...base, device: "Ascend" }, probes({}), small)).toEqual({ target: "Ascend", reason: "--device",
      precision: { precision: "float16", auto: true, reason: "auto: float16 (Ascend memory is not known before the engine starts)" } });
  });

  it("probes nothing when no model is loaded (--dry-run, fake engine)", async () => {
    const p = probes({ "npu-smi": ran("ok") });
    expect((await resolveDevice({ ...base, loadsModel: false }, p, small)).target).toBe("CPU");
    expect(p.calls).toEqual([]);
  });
});
