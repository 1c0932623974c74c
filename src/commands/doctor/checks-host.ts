// Checks of the machine: Ascend NPUs and CANN, NVIDIA GPUs, host RAM, disk, the model files, the download mirror.
import { formatBytes } from "../../util/format.ts";
import { MODEL_MANIFEST } from "../../download/manifest.ts";
import { fail, ok, skip, warn, type CheckResult } from "../../host/check-result.ts";
import type { DoctorFacts } from "../../host/doctor-facts.ts";
import { describeNeed, estimateMemory, type MemoryEstimate } from "../../model/memory-estimate.ts";
import { modelDirIsAFile } from "../../model/model-files.ts";
import { cpuRamFixes, modelLabel } from "../../host/memory-needs.ts";
import { choosePrecision, PrecisionChoiceError, type MemoryBudget, type PrecisionChoice } from "../../host/precision-choice.ts";

const MB = 1024 * 1024;
const estimate = (f: DoctorFacts, precision = f.precision): MemoryEstimate => estimateMemory(f.model.shape, f.device.target, precision);

/** --precision auto's choice against `budget` (as a start would make it), or the refusal; an explicit one as given. */
function precisionIn(f: DoctorFacts, budget: MemoryBudget | undefined): PrecisionChoice | PrecisionChoiceError {
  try {
    return choosePrecision({ shape: f.model.shape, device: f.device.target, requested: f.precision, budget, label: modelLabel(f.model.custom) });
  } catch (error) {
    if (error instanceof PrecisionChoiceError) return error;
    throw error;
  }
}

/** " in int8 (auto: float16 needs about 15.6 GB, …)" after a need, when auto chose. */
const chosenWords = (choice: PrecisionChoice): string => (choice.auto ? `; --precision ${choice.reason.replace(/^auto: /, "auto picks " + choice.precision + ": ")}` : "");

/** Free HBM per NPU from `npu-smi info`: the last "used / total" MB pair on each chip row. */
export function npuFreeBytes(npuSmiOut: string): number[] {
  const free: number[] = [];
  for (const line of npuSmiOut.split("\n")) {
    const pairs = [...line.matchAll(/(\d+)\s*\/\s*(\d+)/g)].filter((m) => Number(m[2]) >= 1024);
    const last = pairs.at(-1);
    if (last) free.push((Number(last[2]) - Number(last[1])) * MB);
  }
  return free;
}

function memoryVerdict(id: string, title: string, summary: string, free: number | undefined, f: DoctorFacts, fix: string): CheckResult {
  if (free === undefined) return warn(id, title, `${summary}; free memory unknown`, fix);
  const choice = precisionIn(f, { availableBytes: free, what: "free" });
  if (choice instanceof PrecisionChoiceError) return fail(id, title, `${summary}; ${choice.message}`, `${fix}, or a smaller --seq-length`);
  const need = estimate(f, choice.precision);
  const decoded = choice.precision === "int8" || choice.precision === "int4"
    ? `; ${choice.precision} weights are decoded to float16 one matrix at a time inside the graph (memory saved, not time)`
    : "";
  const numbers = `${summary}; ${formatBytes(free)} free, the model needs ${describeNeed(need, "device")}${chosenWords(choice)}${decoded}`;
  return free >= need.deviceBytes ? ok(id, title, numbers) : fail(id, title, numbers, `${fix}, or a smaller --seq-length`);
}

export function checkAscend(f: DoctorFacts): CheckResult {
  const { npuSmi, davinci, env } = f.ascend;
  const wanted = f.device.target === "Ascend";
  const visible = (npuSmi.found && npuSmi.exitCode === 0) || davinci.length > 0;
  if (!visible) {
    if (!wanted) return skip("ascend", "Ascend NPU", "none visible (no npu-smi, no /dev/davinci*)");
    return fail("ascend", "Ascend NPU", "--device Ascend, but no npu-smi and no /dev/davinci*", "in Docker pass --device /dev/davinci0 --device /dev/davinci_manager and mount the driver (see docs/docker.md); else use --device CPU");
  }
  const toolkit = env.ASCEND_HOME_PATH ?? env.ASCEND_TOOLKIT_HOME;
  const summary = `${davinci.length || "?"} NPU(s)${npuSmi.found ? "" : " (npu-smi not on PATH)"}; CANN ${toolkit ?? "environment not set"}`;
  if (!wanted) return warn("ascend", "Ascend NPU", `${summary}, but the device is ${f.device.target}`, "use --device Ascend (or auto)");
  if (!toolkit) return warn("ascend", "Ascend NPU", summary, "source /usr/local/Ascend/ascend-toolkit/set_env.sh (sets ASCEND_HOME_PATH / ASCEND_TOOLKIT_HOME)");
  const free = npuSmi.found ? npuFreeBytes(npuSmi.stdout)[f.device.id] : undefined;
  return memoryVerdict("ascend", "Ascend NPU", summary, free, f, "free the NPU (npu-smi info lists its processes) or pick another with --device-id");
}

export function checkNvidia(f: DoctorFacts): CheckResult {
  const { smi } = f.nvidia;
  const wanted = f.device.target === "GPU";
  const gpus = smi.found && smi.exitCode === 0
    ? smi.stdout.trim().split("\n").filter(Boolean).map((line) => {
        const [name = "?", mem = ""] = line.split(",").map((s) => s.trim());
        const mib = /(\d+)\s*MiB/.exec(mem);
        return { name, free: mib ? Number(mib[1]) * MB : undefined };
      })
    : [];
  if (gpus.length === 0) {
    if (!wanted) return skip("nvidia", "NVIDIA GPU", smi.found ? `nvidia-smi failed: ${smi.stderr.trim().split("\n")[0] ?? ""}` : "none (no nvidia-smi)");
    return fail("nvidia", "NVIDIA GPU", "--device GPU, but nvidia-smi finds no GPU", "use --device CPU or Ascend");
  }
  const gpu = gpus[f.device.id] ?? gpus[0]!;
  const summary = `${gpus.length} GPU(s): ${gpu.name}`;
  if (!wanted) return ok("nvidia", "NVIDIA GPU", `${summary} (not used: device is ${f.device.target})`);
  return memoryVerdict("nvidia", "NVIDIA GPU", summary, gpu.free, f, "free the GPU or pick another with --device-id");
}

export function checkHostRam(f: DoctorFacts): CheckResult {
  const group = f.ram.cgroup;
  const total = group
    ? `${formatBytes(group.limitBytes)} limit of this process's memory cgroup (v${group.version}; the host has ${formatBytes(group.hostTotalBytes)})`
    : `${formatBytes(f.ram.totalBytes)} total`;
  const more = group ? "a higher memory limit for this container or notebook" : "a machine with more RAM";
  const onCpu = f.device.target === "CPU";
  const what = group ? `available in this process's memory cgroup (v${group.version})` : "of RAM available";
  const choice = onCpu ? precisionIn(f, { availableBytes: f.ram.availableBytes, what }) : undefined;
  const head = `${total}, ${formatBytes(f.ram.availableBytes)} available; `;
  if (choice instanceof PrecisionChoiceError) {
    return fail("ram", "host RAM", `${head}--precision auto: ${choice.message}`,
      `use an Ascend NPU, a smaller --seq-length (now ${f.model.shape.seqLength.toLocaleString("en-US")}), ${more}, or --force to try int4 anyway`);
  }
  const need = estimate(f, choice?.precision ?? f.precision);
  const detail = `${head}${modelLabel(f.model.custom)} on ${f.device.target} needs ${describeNeed(need, "host")}${choice ? chosenWords(choice) : ""}`;
  const cpuFixes = () => ["an Ascend NPU", ...cpuRamFixes(f.model.shape, need.precision, f.ram.totalBytes), more];
  if (f.ram.totalBytes < need.hostBytes) {
    return fail("ram", "host RAM", detail, onCpu ? `use ${cpuFixes().join(", ")}, or --force to try anyway` : `use ${more}`);
  }
  if (f.ram.availableBytes < need.hostBytes) return warn("ram", "host RAM", detail, "close other programs: not enough is free right now");
  return ok("ram", "host RAM", detail);
}

export function checkDisk(f: DoctorFacts): CheckResult {
  if ("error" in f.disk) return warn("disk", "disk space", `cannot read free space at ${f.disk.dir}: ${f.disk.error}`);
  const missing = f.model.files.filter((x) => x.size === null);
  const need = MODEL_MANIFEST.filter((m) => missing.some((x) => x.name === m.name)).reduce((n, m) => n + m.approxBytes, 0);
  const detail = `${formatBytes(f.disk.freeBytes)} free at ${f.disk.dir}${need ? `; the missing files need ${formatBytes(need)}` : ""}`;
  return f.disk.freeBytes >= need ? ok("disk", "disk space", detail) : fail("disk", "disk space", detail, "free space there, or pass --model-dir on a bigger disk (OpenI: /cache)");
}

export function checkModelFiles(f: DoctorFacts): CheckResult {
  const m = f.model;
  const notADirectory = modelDirIsAFile(m.dir);
  if (notADirectory) return fail("model", "model files", notADirectory.problem, notADirectory.fix);
  if (!m.exists) return fail("model", "model files", `${m.dir} does not exist`, "glm-chat pull --model-dir DIR (it looks in OpenI/ModelArts mounts first), or pass --model-dir");
  const parts = m.files.map((x) => (x.size === null ? `${x.name} missing` : `${x.name} ${formatBytes(x.size)}${x.verified ? ` (verified: ${x.verified})` : " (not verified)"}`));
  const detail = `${m.dir}${m.custom ? " (custom model: glm_config.json)" : ""}: ${parts.join(", ")}`;
  const found = m.files.flatMap((x) => x.elsewhere.slice(0, 1));
  const pull = `glm-chat pull --model-dir ${m.dir}`;
  if (m.files.some((x) => x.size === null)) {
    return fail("model", "model files", detail, found.length ? `${pull} (links what it finds at ${found.join(", ")} after checking it)` : pull);
  }
  if (!m.custom && m.files.some((x) => !x.verified)) return warn("model", "model files", detail, `glm-chat pull --model-dir ${m.dir} verifies them (and downloads nothing that is whole)`);
  return ok("model", "model files", detail);
}

export function checkNotebook(f: DoctorFacts): CheckResult {
  const title = "OpenI / ModelArts";
  if (!f.notebook.length) return skip("notebook", title, "not an OpenI/ModelArts notebook");
  return ok("notebook", title, `notebook detected (${f.notebook.join(", ")}); model files are looked for in its mounts first (docs/openi-notebook.md)`);
}

export function checkMirror(f: DoctorFacts): CheckResult {
  const title = "download mirror";
  if (!f.mirror) return skip("mirror", title, "not checked (--offline)");
  const complete = f.model.files.every((x) => x.size !== null);
  const bad = (detail: string) => (complete ? warn : fail)("mirror", title, detail, "set HTTPS_PROXY, or --mirror / GLM_CHAT_MIRROR to a reachable copy; on OpenI copy the files from OBS (docs/model-files.md)");
  if ("error" in f.mirror) return bad(`${f.mirror.url}: ${f.mirror.error}`);
  if (f.mirror.status >= 400) return bad(`${f.mirror.url}: HTTP ${f.mirror.status}`);
  return ok("mirror", title, `${f.mirror.url}: HTTP ${f.mirror.status} in ${f.mirror.ms} ms`);
}
