// After a failed start: a brief doctor (offline, no run_check) whose warnings and failures are printed under the error.
import { join } from "node:path";
import type { CliOptions } from "../cli-options.ts";
import type { AppPaths } from "../../config/paths.ts";
import type { CheckResult } from "../../host/check-result.ts";
import { runChecks } from "./doctor-command.ts";
import { gatherFacts } from "../../host/gather-facts.ts";

/** Sidecar error codes that mean the engine could not start (not a user's cancel, not a mid-answer crash). */
export const STARTUP_FAILURE_CODES = new Set(["SIDECAR_SPAWN_FAILED", "SIDECAR_EXITED", "SIDECAR_STALLED", "ENGINE_LOAD_FAILED", "SIDECAR_PROTOCOL_MISMATCH",
  "SIDECAR_OUT_OF_MEMORY"]);

export function formatDiagnosis(results: readonly CheckResult[]): string {
  const problems = results.filter((r) => r.status === "warn" || r.status === "fail");
  if (!problems.length) return "";
  const lines = problems.map((r) => `  ${r.status}: ${r.title}: ${r.detail}${r.fix ? `\n        fix: ${r.fix}` : ""}`);
  return `glm-chat doctor found:\n${lines.join("\n")}\n(glm-chat doctor checks everything)\n`;
}

/** Never throws and gives up after `timeoutMs`: a diagnosis must not hide the error it explains. */
export async function startupDiagnosis(options: CliOptions, paths: AppPaths, timeoutMs = 20_000): Promise<string> {
  const python = options.python
    ? { path: options.python, source: "explicit" as const }
    : { path: join(paths.venvDir, "bin", "python"), source: "managed" as const };
  const work = gatherFacts({ python, modelDir: options.modelDir, device: options.device, deviceId: options.deviceId, mirrors: [], offline: true, skipRunCheck: true,
    precision: options.engine === "mindformers" ? "auto" : options.precision, seqLength: options.seqLength })
    .then((facts) => formatDiagnosis(runChecks(facts, paths.sidecarDir).filter((r) => r.id !== "mirror")))
    .catch(() => "");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(""), timeoutMs)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
