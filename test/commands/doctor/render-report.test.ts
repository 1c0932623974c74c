// The doctor's text and JSON output, and its exit code.
import { describe, expect, it } from "vitest";
import { exitCodeFor, fail, ok, warn } from "../../../src/host/check-result.ts";
import { runChecks } from "../../../src/commands/doctor/doctor-command.ts";
import { renderJson, renderText } from "../../../src/commands/doctor/render-report.ts";
import { healthyFacts } from "../../host/facts-fixture.ts";

const device = { target: "CPU" as const, id: 0, reason: "no Ascend NPU or NVIDIA GPU visible" };

describe("doctor report", () => {
  it("prints one line per check and the fix under problems only", () => {
    const text = renderText([ok("node", "Node.js", "v20"), warn("ram", "host RAM", "low", "close things"), fail("model", "model files", "missing", "glm-chat pull")], device);
    expect(text).toContain("device CPU:0 (no Ascend NPU or NVIDIA GPU visible)");
    expect(text).toMatch(/^ok {4}Node\.js {6}v20$/m);
    expect(text).toMatch(/^FAIL {2}model files {2}missing\n {19}fix: glm-chat pull$/m);
    expect(text).toContain("1 ok, 1 warnings, 1 failed");
  });

  it("JSON carries ok, the device and every check", () => {
    const results = runChecks(healthyFacts(), "/sc");
    const doc = JSON.parse(renderJson(results, device)) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(doc.ok).toBe(true);
    expect(doc.checks.map((c) => c.id)).toEqual(["node", "zeromq", "python", "mindspore", "run_check", "mindformers", "ascend", "nvidia", "ram", "disk", "model", "notebook", "mirror", "last_run"]);
  });

  it("exits non-zero on any fail, zero on warnings", () => {
    expect(exitCodeFor([ok("a", "a", ""), warn("b", "b", "")])).toBe(0);
    expect(exitCodeFor([ok("a", "a", ""), fail("b", "b", "")])).toBe(1);
  });
});
