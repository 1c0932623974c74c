// A healthy DoctorFacts for check tests to start from; each test overrides the part it is about.
import type { DoctorFacts } from "../../src/host/doctor-facts.ts";
import type { CommandOutcome } from "../../src/host/host-probes.ts";
import type { ModelShape } from "../../src/model/memory-estimate.ts";

export const GB = 1e9;
export const GLM6B_SHAPE: ModelShape = { ckptBytes: 13_415_858_176, layers: 28, hidden: 4096, inner: 16384, vocab: 130528, seqLength: 2048 };
export const notFound: CommandOutcome = { found: false, exitCode: null, timedOut: false, stdout: "", stderr: "" };
export const ran = (stdout: string, exitCode = 0, stderr = ""): CommandOutcome => ({ found: true, exitCode, timedOut: false, stdout, stderr });

export function healthyFacts(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    node: { version: "v20.20.2", platform: "linux", arch: "x64", glibc: "2.36" },
    zeromq: { loaded: true, libzmq: "4.3.5" },
    python: {
      path: "/venv/bin/python",
      source: "explicit",
      state: "ran",
      facts: {
        version: "3.9.18",
        executable: "/venv/bin/python",
        in_venv: true,
        mindspore: { path: "/site/mindspore", version: "2.7.2", plugins: ["ascend", "cpu", "gpu", "gpu11.1"] },
        mindformers: { path: "/site/mindformers", version: "1.3.2", has_glm: true },
        missing: [],
      },
    },
    device: { target: "CPU", id: 0, reason: "--device" },
    precision: "auto",
    runCheck: ran("MindSpore version: 2.7.2\nThe result of multiplication calculation is correct, MindSpore has been installed on platform [CPU] successfully!"),
    ascend: { npuSmi: notFound, davinci: [], env: {} },
    nvidia: { smi: notFound },
    ram: { totalBytes: 64 * GB, availableBytes: 60 * GB },
    disk: { dir: "/models", freeBytes: 100 * GB },
    model: {
      dir: "/models",
      exists: true,
      custom: false,
      files: [
        { name: "glm_6b.ckpt", size: 13_415_858_176, verified: "md5", elsewhere: [] },
        { name: "ice_text.model", size: 2_706_249, verified: "md5", elsewhere: [] },
      ],
      shape: GLM6B_SHAPE,
    },
    notebook: [],
    mirror: { url: "https://mirror/glm/ice_text.model", status: 200, ms: 40 },
    ...over,
  };
}
