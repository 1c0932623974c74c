// Everything the doctor found out, as plain data: the checks decide from this alone, so tests feed it directly.
import type { CommandOutcome, MirrorFacts, RamFacts, ZeromqFacts } from "./host-probes.ts";
import type { Device } from "./memory-needs.ts";
import type { PythonFacts } from "./python-probe.ts";

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
  runCheck?: CommandOutcome;
  ascend: { npuSmi: CommandOutcome; davinci: string[]; env: { ASCEND_HOME_PATH?: string; ASCEND_TOOLKIT_HOME?: string } };
  nvidia: { smi: CommandOutcome };
  ram: RamFacts;
  disk: { dir: string; freeBytes: number } | { dir: string; error: string };
  model: { dir: string; exists: boolean; custom: boolean; files: ModelFileFacts[] };
  /** Signs of an OpenI / ModelArts notebook: MoXing importable, /home/ma-user, the c2net/openi SDK variables. */
  notebook: string[];
  /** undefined when skipped (--offline). */
  mirror?: MirrorFacts;
}
