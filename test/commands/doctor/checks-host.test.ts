// Host checks decide from injected facts and fake command output: npu-smi, nvidia-smi, RAM, disk, model files, mirror.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkAscend, checkDisk, checkHostRam, checkMirror, checkModelFiles, checkNotebook, checkNvidia, npuFreeBytes } from "../../../src/commands/doctor/checks-host.ts";
import { ramWithin } from "../../../src/host/host-probes.ts";
import { GB, GLM6B_SHAPE, healthyFacts, notFound, ran } from "../../host/facts-fixture.ts";

const NPU_SMI = `+------------------------------------------------------------------------------------+
| npu-smi 23.0.rc1                 Version: 23.0.rc1                                 |
+-------------------+-----------------+----------------------------------------------+
| NPU     Name      | Health          | Power(W)     Temp(C)           Hugepages-Usage(page)|
| Chip              | Bus-Id          | AICore(%)    Memory-Usage(MB)  HBM-Usage(MB)        |
+===================+=================+==============================================+
| 0       910ProB   | OK              | 68.2         37                0    / 0             |
| 0                 | 0000:C1:00.0    | 0            2319 / 15039      1024 / 32768         |
+===================+=================+==============================================+
| 1       910ProB   | OK              | 68.2         37                0    / 0             |
| 0                 | 0000:81:00.0    | 0            2319 / 15039      30000 / 32768        |
+===================+=================+==============================================+`;
const MB = 1024 * 1024;
const ascendEnv = { ASCEND_HOME_PATH: "/usr/local/Ascend/ascend-toolkit/latest" };

describe("Ascend", () => {
  it("reads free HBM per NPU from npu-smi info", () => {
    expect(npuFreeBytes(NPU_SMI)).toEqual([(32768 - 1024) * MB, (32768 - 30000) * MB]);
  });

  it("passes an NPU with room for the model, fails a full one with numbers", () => {
    const ascend = { npuSmi: ran(NPU_SMI), davinci: ["/dev/davinci0", "/dev/davinci1"], env: ascendEnv };
    expect(checkAscend(healthyFacts({ ascend, device: { target: "Ascend", id: 0, reason: "auto" } })).status).toBe("ok");
    const full = checkAscend(healthyFacts({ ascend, device: { target: "Ascend", id: 1, reason: "auto" } }));
    expect(full.status).toBe("fail");
    expect(full.detail).toContain("ChatGLM-6B on Ascend does not fit in any precision: it needs float16 about 16.0 GB, int8 about 9.7 GB, int4 about 6.4 GB (each plus a 10 % margin), and there is 2.9 GB free");
    expect(full.fix).toContain("a smaller --seq-length");
    const half = checkAscend(healthyFacts({ ascend, precision: "float16", device: { target: "Ascend", id: 1, reason: "auto" } }));
    expect(half.detail).toMatch(/2\.9 GB free, the model needs about 16\.0 GB: 13\.4 GB weights \(float16\) \+ 939\.5 MB cache for 2,048 tokens/);
  });

  it("passes int8 where auto picks it on a device, saying each matrix is decoded in the graph (memory saved, not time)", () => {
    const smi = ran("Tesla T4, 12000 MiB\n"); // 12.6 GB free: float16 (16.0 GB) does not fit, int8 (9.7 GB) does
    const r = checkNvidia(healthyFacts({ nvidia: { smi }, device: { target: "GPU", id: 0, reason: "--device" } }));
    expect(r.status).toBe("ok");
    expect(r.detail).toContain("--precision auto picks int8: float16 needs about 16.0 GB, more than 12.6 GB free with a 10 % margin; int8 needs about 9.7 GB");
    expect(r.detail).toContain("; int8 weights are decoded to float16 one matrix at a time inside the graph (memory saved, not time)");
    const ascend = { npuSmi: ran(NPU_SMI), davinci: ["/dev/davinci0"], env: ascendEnv };
    const int4 = checkAscend(healthyFacts({ ascend, precision: "int4", device: { target: "Ascend", id: 0, reason: "auto" } }));
    expect(int4.status).toBe("ok");
    expect(int4.detail).toContain("int4 weights are decoded to float16 one matrix at a time inside the graph");
    const float16 = checkAscend(healthyFacts({ ascend, precision: "float16", device: { target: "Ascend", id: 0, reason: "auto" } }));
    expect(float16.detail).not.toContain("decoded");
  });

  it("fails --device Ascend with no NPU visible, and skips when not wanted", () => {
    const r = checkAscend(healthyFacts({ device: { target: "Ascend", id: 0, reason: "--device" } }));
    expect(r.status).toBe("fail");
    expect(r.fix).toContain("/dev/davinci_manager");
    expect(checkAscend(healthyFacts()).status).toBe("skip");
  });

  it("warns when the CANN environment is not set, or the NPU is not used", () => {
    const ascend = { npuSmi: notFound, davinci: ["/dev/davinci0"], env: {} };
    const r = checkAscend(healthyFacts({ ascend, device: { target: "Ascend", id: 0, reason: "auto" } }));
    expect(r).toMatchObject({ status: "warn" });
    expect(r.fix).toContain("set_env.sh");
    expect(checkAscend(healthyFacts({ ascend: { ...ascend, env: ascendEnv } })).fix).toContain("--device Ascend");
  });
});

describe("NVIDIA", () => {
  it("parses nvidia-smi's csv and checks free memory on the chosen GPU", () => {
    const smi = ran("NVIDIA H100 80GB HBM3, 81000 MiB\nTesla T4, 1200 MiB\n");
    expect(checkNvidia(healthyFacts({ nvidia: { smi }, device: { target: "GPU", id: 0, reason: "--device" } }))).toMatchObject({ status: "ok" });
    const small = checkNvidia(healthyFacts({ nvidia: { smi }, device: { target: "GPU", id: 1, reason: "--device" } }));
    expect(small.status).toBe("fail");
    expect(small.detail).toContain("Tesla T4");
    expect(checkNvidia(healthyFacts({ nvidia: { smi } })).detail).toContain("not used: device is CPU");
    expect(checkNvidia(healthyFacts({ device: { target: "GPU", id: 0, reason: "--device" } })).status).toBe("fail");
  });
});

describe("host RAM", () => {
  const cpu16 = { ram: { totalBytes: 16 * GB, availableBytes: 12 * GB } };
  const cpu18 = { ram: { totalBytes: 18 * GB, availableBytes: 12 * GB } };

  it("says what --precision auto picks and why, at several sizes", () => {
    const at = (available: number) => checkHostRam(healthyFacts({ ram: { totalBytes: 32 * GB, availableBytes: available * GB } }));
    expect(at(24)).toMatchObject({ status: "ok", detail: expect.stringContaining("needs about 15.6 GB: 13.4 GB weights (float16) + 939.5 MB cache for 2,048 tokens + 746.6 MB working memory + 530.0 MB runtime; --precision auto picks float16: about 15.6 GB fits in 24.0 GB of RAM available") });
    expect(at(12)).toMatchObject({ status: "ok", detail: expect.stringContaining("needs about 8.3 GB: 6.6 GB weights (int8) + 484.4 MB int8 cache for 2,048 tokens + 746.6 MB working memory + 530.0 MB runtime; --precision auto picks int8: float16 needs about 15.6 GB, more than 12.0 GB of RAM available with a 10 % margin; int8 needs about 8.3 GB") });
    expect(at(8).detail).toContain("weights (int4)");
    const none = at(5);
    expect(none).toMatchObject({ status: "fail", detail: expect.stringContaining("--precision auto: ChatGLM-6B on CPU does not fit in any precision: it needs float16 about 15.6 GB, int8 about 8.3 GB, int4 about 5.2 GB (each plus a 10 % margin), and there is 5.0 GB of RAM available") });
    expect(none.fix).toContain("--force to try int4 anyway");
  });

  it("fails ChatGLM-6B on an 18 GB CPU box with the float32 breakdown, and offers float16", () => {
    const r = checkHostRam(healthyFacts({ ...cpu18, precision: "float32" }));
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("ChatGLM-6B on CPU needs about 30.9 GB: 26.8 GB weights (float32) + 1.9 GB cache for 2,048 tokens + 1.7 GB working memory + 530.0 MB runtime");
    expect(r.fix).toContain("--precision float16 (the native engine, about 15.6 GB)");
    expect(r.fix).toContain("a smaller --seq-length (now 2,048)");
    expect(r.fix).toContain("--force");
  });

  it("counts --precision float16 and a shorter --seq-length", () => {
    expect(checkHostRam(healthyFacts({ ram: { totalBytes: 15 * GB, availableBytes: 12 * GB }, precision: "float16" })).status).toBe("fail"); // 15.6 GB: over 15 GB
    expect(checkHostRam(healthyFacts({ ...cpu16, precision: "float16" })).status).toBe("warn"); // fits in 16 GB, not in the 12 free
    const short = healthyFacts({ ...cpu16, precision: "float16", model: { ...healthyFacts().model, shape: { ...GLM6B_SHAPE, seqLength: 256 } } });
    expect(checkHostRam(short).detail).toContain("cache for 256 tokens");
  });

  it("needs only the runtime and the embedding in host RAM on Ascend, and warns when too little is free now", () => {
    const ascend = { device: { target: "Ascend" as const, id: 0, reason: "auto" } };
    const r = checkHostRam(healthyFacts({ ...ascend, ram: { totalBytes: 32 * GB, availableBytes: 30 * GB } }));
    expect(r).toMatchObject({ status: "ok", detail: expect.stringContaining("about 1.6 GB: 530.0 MB runtime + 1.1 GB for the largest tensor") });
    expect(checkHostRam(healthyFacts({ ...ascend, ram: { totalBytes: 32 * GB, availableBytes: 1 * GB } })).status).toBe("warn");
  });

  it("judges by a memory cgroup's limit below the host's RAM, names it, and asks for a higher limit", () => {
    const notebook = { ram: ramWithin({ totalBytes: 25.3 * GB, availableBytes: 24.4 * GB }, { version: 1, dir: "/x", limitBytes: 8 * GB, usedBytes: 0.3 * GB, oomKills: 0 }) };
    const r = checkHostRam(healthyFacts({ ...notebook, precision: "float16" }));
    expect(r.status).toBe("fail");
    expect(r.detail).toMatch(/^8\.0 GB limit of this process's memory cgroup \(v1; the host has 25\.3 GB\), 7\.7 GB available; ChatGLM-6B on CPU needs about 15\.6 GB/);
    expect(r.fix).toContain("a higher memory limit for this container or notebook");
    expect(r.fix).not.toContain("a machine with more RAM");
  });

  it("sizes a custom (tiny) model by its shape", () => {
    const shape = { ckptBytes: 400_000, layers: 2, hidden: 64, inner: 170, vocab: 832, seqLength: 256 };
    const model = { dir: "/tiny", exists: true, custom: true, shape, files: [{ name: "glm_6b.ckpt", size: 400_000, verified: null, elsewhere: [] }, { name: "ice_text.model", size: 250_000, verified: null, elsewhere: [] }] };
    const r = checkHostRam(healthyFacts({ model, ram: { totalBytes: 2 * GB, availableBytes: 1 * GB } }));
    expect(r).toMatchObject({ status: "ok", detail: expect.stringContaining("this model on CPU needs about 531.") });
  });
});

describe("disk, model files, mirror", () => {
  const missingCkpt = { dir: "/m", exists: true, custom: false, shape: GLM6B_SHAPE, files: [{ name: "glm_6b.ckpt", size: null, verified: null, elsewhere: [] }, { name: "ice_text.model", size: 2_706_249, verified: "md5", elsewhere: [] }] };

  it("fails a disk without room for the missing checkpoint", () => {
    const r = checkDisk(healthyFacts({ model: missingCkpt, disk: { dir: "/m", freeBytes: 5 * GB } }));
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("the missing files need 13.4 GB");
    expect(checkDisk(healthyFacts()).status).toBe("ok");
  });

  it("reports files present, sizes and verification", () => {
    expect(checkModelFiles(healthyFacts()).detail).toContain("glm_6b.ckpt 13.4 GB (verified: md5)");
    expect(checkModelFiles(healthyFacts({ model: missingCkpt })).status).toBe("fail");
    const unverified = { ...missingCkpt, files: [{ name: "glm_6b.ckpt", size: 13_415_858_176, verified: null, elsewhere: [] }, missingCkpt.files[1]!] };
    expect(checkModelFiles(healthyFacts({ model: unverified }))).toMatchObject({ status: "warn" });
    expect(checkModelFiles(healthyFacts({ model: { ...missingCkpt, exists: false } })).fix).toContain("glm-chat pull");
  });

  it("says a --model-dir that is the checkpoint file is a file, and names its folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "glm-doctor-file-"));
    try {
      for (const name of ["glm_6b.ckpt", "ice_text.model"]) writeFileSync(join(dir, name), "x");
      const ckpt = join(dir, "glm_6b.ckpt");
      expect(checkModelFiles(healthyFacts({ model: { ...missingCkpt, dir: ckpt, exists: true } }))).toMatchObject({
        status: "fail",
        detail: `--model-dir ${ckpt} is one of the model files, not a directory`,
        fix: `pass the folder it is in, which holds both model files: --model-dir ${dir}`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("points a missing file at a copy found in the notebook's mounts", () => {
    const found = { ...missingCkpt, files: [{ ...missingCkpt.files[0]!, elsewhere: ["/cache/pretrainmodel/glm/glm_6b.ckpt"] }, missingCkpt.files[1]!] };
    expect(checkModelFiles(healthyFacts({ model: found })).fix).toBe("glm-chat pull --model-dir /m (links what it finds at /cache/pretrainmodel/glm/glm_6b.ckpt after checking it)");
  });

  it("names the signs of an OpenI/ModelArts notebook", () => {
    expect(checkNotebook(healthyFacts({ notebook: ["moxing importable", "/home/ma-user"] })).detail).toContain("moxing importable, /home/ma-user");
    expect(checkNotebook(healthyFacts()).status).toBe("skip");
  });

  it("an unreachable mirror fails only when files are still missing", () => {
    const mirror = { url: "https://x/ice_text.model", error: "no answer within 5000 ms", ms: 5000 };
    expect(checkMirror(healthyFacts({ mirror })).status).toBe("warn");
    expect(checkMirror(healthyFacts({ mirror, model: missingCkpt })).status).toBe("fail");
    expect(checkMirror(healthyFacts({ mirror: { url: "u", status: 404, ms: 3 } })).detail).toContain("HTTP 404");
    expect(checkMirror(healthyFacts({ mirror: undefined })).status).toBe("skip");
  });
});
