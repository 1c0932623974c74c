// Runtime checks decide from injected facts: Node, zeromq (glibc advice), the sidecar Python, MindSpore, run_check, MindFormers.
import { describe, expect, it } from "vitest";
import { checkMindFormers, checkMindSpore, checkNode, checkPython, checkRunCheck, checkZeromq } from "../../../src/commands/doctor/checks-runtime.ts";
import type { DoctorFacts } from "../../../src/host/doctor-facts.ts";
import { healthyFacts, ran } from "../../host/facts-fixture.ts";

const withPython = (patch: Partial<Extract<DoctorFacts["python"], { state: "ran" }>["facts"]>): DoctorFacts => {
  const f = healthyFacts();
  if (f.python.state !== "ran") throw new Error("fixture");
  return { ...f, python: { ...f.python, facts: { ...f.python.facts, ...patch } } };
};

describe("runtime checks", () => {
  it("passes a healthy setup", () => {
    const f = healthyFacts();
    for (const r of [checkNode(f), checkZeromq(f), checkPython(f, "/sc"), checkMindSpore(f, "/sc"), checkRunCheck(f), checkMindFormers(f)]) {
      expect(r.status, `${r.id}: ${r.detail}`).toBe("ok");
    }
    expect(checkZeromq(f).detail).toContain("libzmq 4.3.5");
    expect(checkMindFormers(f).detail).toContain("1.3.2");
  });

  it("fails Node older than 20", () => {
    const r = checkNode(healthyFacts({ node: { version: "v18.19.0", platform: "linux", arch: "arm64" } }));
    expect(r).toMatchObject({ status: "fail" });
    expect(r.fix).toContain("Node 20");
  });

  it("blames an old glibc when the zeromq addon does not load there", () => {
    const r = checkZeromq(healthyFacts({ node: { version: "v20.0.0", platform: "linux", arch: "arm64", glibc: "2.17" }, zeromq: { loaded: false, error: "GLIBC_2.25 not found" } }));
    expect(r.status).toBe("fail");
    expect(r.fix).toContain("glibc 2.17 is older than the 2.25");
    const other = checkZeromq(healthyFacts({ zeromq: { loaded: false, error: "Cannot find module" } }));
    expect(other.fix).toContain("npm ci");
  });

  it("says how to get a managed venv that is not there, without making one", () => {
    const r = checkPython(healthyFacts({ python: { path: "/d/venv/bin/python", source: "managed", state: "absent" } }), "/sc");
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("/d/venv/bin/python");
    expect(r.fix).toContain("run glm-chat once");
    expect(checkMindSpore(healthyFacts({ python: { path: "/p", source: "managed", state: "absent" } }), "/sc").status).toBe("skip");
  });

  it("names the missing sidecar modules and the pip line", () => {
    const r = checkPython(withPython({ missing: ["zmq", "msgpack"] }), "/sc");
    expect(r.status).toBe("fail");
    expect(r.detail).toContain("zmq, msgpack");
    expect(r.fix).toBe("/venv/bin/python -m pip install -r /sc/requirements.txt");
    expect(checkPython(withPython({ version: "3.6.9" }), "/sc").status).toBe("fail");
  });

  it("fails a Python without MindSpore with the install line", () => {
    const r = checkMindSpore(withPython({ mindspore: { path: null, version: null, plugins: [] } }), "/sc");
    expect(r.status).toBe("fail");
    expect(r.fix).toContain("requirements-mindspore.txt");
  });

  it("is fine without MindFormers (the managed setup's normal state) and names the install for --engine mindformers", () => {
    const r = checkMindFormers(withPython({ mindformers: { path: null, version: null, has_glm: false } }));
    expect(r.status).toBe("ok");
    expect(r.detail).toMatch(/^not installed \(only --engine mindformers needs it: \S+ -m pip install mindformers==1\.3\.2\); glm-chat's native engine runs/);
  });

  it("warns (the native engine runs without it) on MindFormers 1.5+, which deleted GLM-6B, and points at 1.3.2", () => {
    const r = checkMindFormers(withPython({ mindformers: { path: "/mf", version: "1.5.0", has_glm: false } }));
    expect(r.status).toBe("warn");
    expect(r.detail).toContain("native engine");
    expect(r.detail).toContain("1.5.0 has no mindformers.models.glm");
    expect(r.fix).toContain("mindformers==1.3.2");
  });

  it("reads run_check's outcome: success text, a failure's last lines, a timeout", () => {
    const device = { target: "Ascend" as const, id: 1, reason: "--device" };
    const failed = checkRunCheck(healthyFacts({ device, runCheck: ran("", 1, "Traceback\nRuntimeError: Unsupported device target Ascend") }));
    expect(failed.status).toBe("fail");
    expect(failed.title).toContain("Ascend:1");
    expect(failed.detail).toContain("Unsupported device target Ascend");
    expect(failed.fix).toContain("npu-smi info");
    const timedOut = checkRunCheck(healthyFacts({ runCheck: { found: true, exitCode: null, timedOut: true, stdout: "", stderr: "" } }));
    expect(timedOut.detail).toBe("timed out");
    expect(checkRunCheck(healthyFacts({ runCheck: ran("exit 0 but no success line") })).status).toBe("fail");
    expect(checkRunCheck(healthyFacts({ runCheck: undefined })).status).toBe("skip");
  });
});
