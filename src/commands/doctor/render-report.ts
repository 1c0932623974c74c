// Renders the doctor's results: aligned text lines with the fix under each problem, or one JSON document.
import type { CheckResult, CheckStatus } from "../../host/check-result.ts";
import type { DoctorFacts } from "../../host/doctor-facts.ts";

const MARK: Record<CheckStatus, string> = { ok: "ok  ", warn: "warn", fail: "FAIL", skip: "--  " };

export function renderText(results: readonly CheckResult[], device: DoctorFacts["device"]): string {
  const width = Math.max(...results.map((r) => r.title.length));
  const lines = [`glm-chat doctor · device ${device.target}:${device.id} (${device.reason})`, ""];
  for (const r of results) {
    lines.push(`${MARK[r.status]}  ${r.title.padEnd(width)}  ${r.detail}`);
    if (r.fix && r.status !== "ok") lines.push(`${" ".repeat(width + 8)}fix: ${r.fix}`);
  }
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  lines.push("", `${count("ok")} ok, ${count("warn")} warnings, ${count("fail")} failed`);
  return `${lines.join("\n")}\n`;
}

export function renderJson(results: readonly CheckResult[], device: DoctorFacts["device"]): string {
  const ok = !results.some((r) => r.status === "fail");
  return `${JSON.stringify({ ok, device, checks: results }, null, 2)}\n`;
}
