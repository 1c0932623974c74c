// Asks a Python what it is and what it has (versions, MindSpore plugins, MindFormers' GLM) without importing the heavy packages.
import type { Device } from "./memory-needs.ts";

/** Runs in the sidecar's Python (3.7+): metadata and file checks only, so it takes well under a second. */
export const PYTHON_PROBE = String.raw`
import json, os, sys
import importlib.util as u
def version_of(dist):
    try:
        from importlib import metadata
        return metadata.version(dist)
    except Exception:
        try:
            import pkg_resources
            return pkg_resources.get_distribution(dist).version
        except Exception:
            return None
def location(name):
    try:
        spec = u.find_spec(name)
    except Exception:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]
ms = location("mindspore")
plugins = sorted(os.listdir(os.path.join(ms, "lib", "plugin"))) if ms and os.path.isdir(os.path.join(ms, "lib", "plugin")) else []
mf = location("mindformers")
print(json.dumps({
    "version": "%d.%d.%d" % sys.version_info[:3],
    "executable": sys.executable,
    "in_venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
    "mindspore": {"path": ms, "version": version_of("mindspore") or version_of("mindspore-ascend") or version_of("mindspore-gpu"), "plugins": plugins},
    "mindformers": {"path": mf, "version": version_of("mindformers"), "has_glm": bool(mf and os.path.isdir(os.path.join(mf, "models", "glm")))},
    "missing": [m for m in ("zmq", "msgpack", "sentencepiece") if u.find_spec(m) is None],
    "moxing": u.find_spec("moxing") is not None,
}))
`;

export interface PythonFacts {
  version: string;
  executable: string;
  in_venv: boolean;
  mindspore: { path: string | null; version: string | null; plugins: string[] };
  mindformers: { path: string | null; version: string | null; has_glm: boolean };
  missing: string[];
  /** ModelArts' OBS client: present on ModelArts/OpenI NPU images. */
  moxing?: boolean;
}

/** MindSpore's own self-test on one device, in a fresh process (it may hang or abort on a bad driver). */
export function runCheckScript(device: Device, deviceId: number): string {
  return [
    "import mindspore as ms",
    "try:",
    `    ms.set_device("${device}", ${deviceId})`,
    "except AttributeError:",
    `    ms.set_context(device_target="${device}", device_id=${deviceId})`,
    "ms.run_check()",
  ].join("\n");
}

export const RUN_CHECK_SUCCESS = /MindSpore has been installed.*successfully/i;

/** The lines that say why run_check failed: the exception's first sentence and MindSpore's own GPU plugin load error. */
export function runCheckFailure(output: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => /^\w*(Error|Exception): /.test(l))?.split(". ")[0];
  const gpuLoad = lines.find((l) => /^Load dynamic library: libmindspore_gpu\S* failed/.test(l));
  return [error, gpuLoad].filter(Boolean).join(" | ") || lines.slice(-2).join(" | ");
}
