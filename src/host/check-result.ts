// One line of `glm-chat doctor`: what was checked, ok / warn / fail / skip, the finding, and the fix to try.

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
  /** Stable id for machines (`--json`): "node", "zeromq", "python", "mindspore", ... */
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export const ok = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "ok", detail });
export const warn = (id: string, title: string, detail: string, fix?: string): CheckResult => ({ id, title, status: "warn", detail, fix });
export const fail = (id: string, title: string, detail: string, fix?: string): CheckResult => ({ id, title, status: "fail", detail, fix });
export const skip = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "skip", detail });

/** The doctor's exit code: non-zero when any check failed. */
export function exitCodeFor(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === "fail") ? 1 : 0;
}
