// Everything the doctor found out, as plain data: the checks decide from this alone, so tests feed it directly.
import type { CommandOutcome, MirrorFacts, RamFacts, ZeromqFacts } from "./host-probes.ts";
import type { ModelShape } from "../model/memory-estimate.ts";
import type { LastRunFacts } from "./last-run.ts";
import type { Device, Precision } from "./memory-needs.ts";
import type { PythonFacts } from "./python-probe.ts";
import type { CudaFacts } from "./cuda-probe.ts";

export interface ModelFileFacts {
  name: string;
  /** null when the file is not there. */
  size: number | null;
  /** How it was verified ("sha256", "md5", "size"), or null when there is no current marker. */
  verified: string | null;
  /** Copies of a missing file in the places OpenI/ModelArts and MindFormers put them (`glm-chat pull` links them). */
  elsewhere: string[];
}

export interface DoctorFacts {
  node: { version: string; platform: string; arch: string; glibc?: string };
  zeromq: ZeromqFacts;
  python:
    | { path: string; source: "explicit" | "managed"; state: "absent" }
    | { path: string; source: "explicit" | "managed"; state: "broken"; error: string }
    | { path: string; source: "explicit" | "managed"; state: "ran"; facts: PythonFacts };
  /** The device the checks are about, and why it was chosen. */
  device: { target: Device; id: number; reason: string };
  /** --precision the memory checks assume (auto: float32 on CPU, float16 on Ascend/GPU). */
  precision: Precision;
  runCheck?: CommandOutcome;
  ascend: { npuSmi: CommandOutcome; davinci: string[]; env: { ASCEND_HOME_PATH?: string; ASCEND_TOOLKIT_HOME?: string } };
  nvidia: { smi: CommandOutcome };
  /** MindSpore's GPU plugin, CUDA libraries, driver and compute capability; only where nvidia-smi runs or GPU is asked for. */
  cuda?: CudaFacts;
  ram: RamFacts;
  disk: { dir: string; freeBytes: number } | { dir: string; error: string };
  /** `shape`: what the engine will build (glm_config.json, or GLM-6B's widths sized by the checkpoint) and its seq_length. */
  model: { dir: string; exists: boolean; custom: boolean; files: ModelFileFacts[]; shape: ModelShape };
  /** Signs of an OpenI / ModelArts notebook: MoXing importable, /home/ma-user, the c2net/openi SDK variables. */
  notebook: string[];
  /** undefined when skipped (--offline). */
  mirror?: MirrorFacts;
  /** The newest sidecar log's ending; undefined when none was found (or not looked for). */
  lastRun?: LastRunFacts;
}
