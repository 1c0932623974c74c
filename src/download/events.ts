// What a pull reports while it runs: a tagged union, snake_case fields, one JSON object per line with --json.
import type { DownloadErrorCode } from "./errors.ts";

export type Integrity = "sha256" | "md5" | "size" | "none";

export interface PlannedFile {
  file: string;
  path: string;
  /** present: already verified in the model dir; found: elsewhere on this machine; download: from a URL. */
  action: "present" | "found" | "download";
  size: number | null;
  resumed_bytes: number;
  from: string | null;
  integrity: Integrity;
  /** Why the check is weaker than a digest (e.g. `size only: the ETag "…-12" is from a multipart upload…`), else null. */
  integrity_note: string | null;
}

export interface PullPlan {
  model_dir: string;
  files: PlannedFile[];
  /** Bytes still to write into the model dir (downloads not yet on disk, plus copies). */
  needed_bytes: number;
}

export type PullEvent =
  | { type: "checking"; file: string; path: string }
  | { type: "probe_failed"; file: string; url: string; code: DownloadErrorCode; message: string }
  | { type: "plan"; plan: PullPlan }
  | { type: "start"; file: string; url: string; size: number; resumed_bytes: number; integrity: Integrity; integrity_note: string | null }
  | { type: "progress"; file: string; bytes: number; size: number; hashed: number }
  | { type: "retry"; file: string; part: number; attempt: number; delay_ms: number; reason: string }
  | { type: "stall"; file: string; part: number; stalls: number }
  | { type: "restart"; file: string; url: string; reason: string }
  | { type: "mirror_failed"; file: string; url: string; code: DownloadErrorCode; message: string }
  | {
      type: "done";
      file: string;
      path: string;
      action: PlannedFile["action"];
      integrity: Integrity;
      integrity_note: string | null;
      digest: string | null;
      verify_ms: number;
    };

export type PullEventType = PullEvent["type"];
