// Errors of the sidecar area, each with a stable code and the original cause attached.

export type SidecarErrorCode =
  | "PYTHON_NOT_FOUND"
  | "PYTHON_TOO_OLD"
  | "PYTHON_PACKAGES_MISSING"
  | "VENV_CREATE_FAILED"
  | "PIP_FAILED"
  | "SIDECAR_SPAWN_FAILED"
  | "SIDECAR_EXITED"
  | "SIDECAR_STALLED"
  | "SIDECAR_UNRESPONSIVE"
  | "SIDECAR_OUT_OF_MEMORY"
  | "SIDECAR_PROTOCOL_MISMATCH"
  | "ENGINE_LOAD_FAILED"
  | "ENGINE_ERROR"
  | "SIDECAR_NO_REPLY"
  | "SIDECAR_PROTOCOL_ERROR"
  | "TOO_MANY_RESTARTS"
  | "SIDECAR_STOPPED";

/**
 * Load failures of the engine that starting it again would only repeat: the model files, the Python packages or the
 * device must change first (its `ename`s, as the sidecar names them).
 */
export const LASTING_LOAD_ERRORS: ReadonlySet<string> = new Set([
  "ModelFileMissing", "ModelConfigInvalid", "CheckpointInvalid", "CheckpointMismatch", "TokenizerInvalid",
  "MindSporeMissing", "MindFormersGlmMissing", "DeviceUnavailable", "DeviceFallback",
  "PrecisionUnsupported", "KernelsUnavailable", "QuantizedCopyUnwritable", "DiskFull",
]);

export class SidecarError extends Error {
  readonly stderrTail: string[];
  readonly logPath: string | undefined;
  /** True when a restart would fail the same way (see LASTING_LOAD_ERRORS): something must be fixed first. */
  readonly isLasting: boolean;
  /** For an error reply: the sidecar's stable error name (e.g. InvalidParameter, RuntimeError). */
  readonly ename: string | undefined;

  constructor(
    readonly code: SidecarErrorCode,
    message: string,
    options: { cause?: unknown; stderrTail?: string[]; logPath?: string; isLasting?: boolean; ename?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "SidecarError";
    this.stderrTail = options.stderrTail ?? [];
    this.logPath = options.logPath;
    this.isLasting = options.isLasting ?? false;
    this.ename = options.ename;
  }
}

/** An error reply (or failed status) from the sidecar as a SidecarError; MindSpore's OutOfMemory keeps its own code. */
export function errorFromReply(
  content: { ename: string; evalue: string },
  code: "ENGINE_ERROR" | "ENGINE_LOAD_FAILED",
  options: { stderrTail?: string[]; logPath?: string } = {},
): SidecarError {
  if (content.ename === "OutOfMemory") return new SidecarError("SIDECAR_OUT_OF_MEMORY", content.evalue, { ...options, ename: content.ename });
  const isLasting = code === "ENGINE_LOAD_FAILED" && LASTING_LOAD_ERRORS.has(content.ename);
  return new SidecarError(code, `${content.ename}: ${content.evalue}`, { ...options, isLasting, ename: content.ename });
}
