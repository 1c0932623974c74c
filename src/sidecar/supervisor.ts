// Spawns one sidecar process, waits until its model is ready, watches it die, and shuts it down.
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join, resolve } from "node:path";
import { execa, type ResultPromise } from "execa";
import { runCommand } from "../host/host-probes.ts";
import { gpuLaunchPlan } from "../host/gpu-launch-env.ts";
import type { BackendStatus } from "../chat/backend.ts";
import { isErrorContent, memoryReportOf, PROTOCOL_VERSION, type HelloContent, type InfoContent, type StatusContent } from "../protocol/messages.ts";
import { SidecarConnection } from "./connection.ts";
import { deathError, type MemoryReport } from "./death-cause.ts";
import { HeartbeatMonitor } from "./heartbeat.ts";
import { errorFromReply, SidecarError } from "./errors.ts";
import { readMemoryLimit, type MemoryLimitReader } from "../host/memory-limit.ts";
import { processIsDying } from "./process-state.ts";
import { StderrTail } from "./stderr-tail.ts";

export interface SidecarLaunch {
  python: string;
  sidecarDir: string;
  modelDir: string;
  engine: "auto" | "mindformers" | "native" | "fake";
  /** MindSpore's compile cache for the native engine (a second start skips the front-end compile). */
  compileCacheDir?: string;
  /** Native engine precision; "auto" leaves it to the sidecar. */
  precision?: "auto" | "float32" | "float16" | "int8" | "int4";
  /** Why that precision (--precision auto's choice), for the status line and --json. */
  precisionReason?: string;
  deviceTarget: "Ascend" | "GPU" | "CPU";
  deviceId: number;
  seqLength?: number;
  logDir: string;
  /** Working dir for the child (MindSpore writes graph dumps into it). */
  workDir: string;
  extraArgs?: string[];
  /** Give up when loading shows no progress for this long (first graph compiles take minutes). */
  stallTimeoutMs?: number;
  /** Heartbeat ping interval and the silence after which the sidecar counts as dead (then it is killed). */
  heartbeatIntervalMs?: number;
  timeToDeadMs?: number;
  /** The memory the sidecar may use and its cgroup's OOM kills, read when it starts and dies (default: its cgroup, else MemTotal). */
  readMemoryLimit?: MemoryLimitReader;
}

export interface ExitInfo {
  exitCode: number | undefined;
  signal: string | undefined;
}

export class Sidecar {
  readonly stderr = new StderrTail();
  info: InfoContent | undefined;
  /** The sidecar's own pid, from its hello. */
  pid: number | undefined;
  exit: ExitInfo | undefined;
  /** Why glm-chat killed it, when it did (e.g. it stopped answering heartbeats). */
  deathReason: string | undefined;
  /** The last RSS the sidecar reported; with the limit, it tells an OOM kill from any other SIGKILL. */
  lastMemory: MemoryReport | undefined;
  private limitBytes: number | undefined;
  private oomKilled = false;
  private oomKillsAtStart: number | undefined;
  private stopping: Promise<void> | undefined;
  private heartbeat: HeartbeatMonitor | undefined;
  private readonly exitListeners = new Set<() => void>();

  private constructor(
    readonly connection: SidecarConnection,
    private readonly child: ResultPromise,
    readonly exited: Promise<ExitInfo>,
    readonly logPath: string,
    private readonly readLimit: MemoryLimitReader,
  ) {}

  /** Spawns the sidecar and waits until its model is ready; `stop` aborted meanwhile (glm-chat closing) stops it at once. */
  static async start(launch: SidecarLaunch, onStatus: (s: Partial<BackendStatus>) => void, stop?: AbortSignal): Promise<Sidecar> {
    const connection = await SidecarConnection.open();
    mkdirSync(launch.logDir, { recursive: true });
    mkdirSync(launch.workDir, { recursive: true });
    const logPath = join(launch.logDir, `sidecar-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
    const log = createWriteStream(logPath);
    const args = ["-m", "glm_sidecar", "--shell", connection.endpoint("shell"), "--control", connection.endpoint("control"),
      "--heartbeat", connection.endpoint("heartbeat"), "--model-dir", resolve(launch.modelDir), "--engine", launch.engine, "--device-target", launch.deviceTarget,
      "--device-id", String(launch.deviceId), "--parent-pid", String(process.pid),
      ...(launch.seqLength ? ["--seq-length", String(launch.seqLength)] : []),
      ...(launch.compileCacheDir ? ["--compile-cache", launch.compileCacheDir] : []),
      ...(launch.precision && launch.precision !== "auto" ? ["--precision", launch.precision] : []), ...(launch.extraArgs ?? [])];
    // GPU: the pip CUDA 11 libraries on LD_LIBRARY_PATH and, without a CUDA 11 toolkit, the nvcc stand-in (docs/devices.md).
    const gpuEnv = launch.deviceTarget === "GPU"
      ? (await gpuLaunchPlan({ python: launch.python, sidecarDir: launch.sidecarDir, env: process.env, run: runCommand })).env : {};
    const readLimit = launch.readMemoryLimit ?? (() => readMemoryLimit());
    const memoryAtStart = readLimit(); // the sidecar names its own OOM errors against this limit; the OOM-kill count to compare at death
    const limitEnv = memoryAtStart.limitBytes ? { GLM_CHAT_MEMORY_LIMIT: String(memoryAtStart.limitBytes) } : {};
    const child = execa(launch.python, args, {
      cwd: launch.workDir,
      env: { ...gpuEnv, ...limitEnv, GLM_CHAT_KEY: connection.key.toString("hex"), PYTHONPATH: launch.sidecarDir, PYTHONUNBUFFERED: "1",
        GLOG_v: process.env.GLOG_v ?? "3" },
      stdin: "ignore",
      buffer: false,
      reject: false,
      cleanup: true,
    });
    const exited = child.then((r) => ({ exitCode: r.exitCode, signal: r.signal }));
    const sidecar = new Sidecar(connection, child, exited, logPath, readLimit);
    sidecar.oomKillsAtStart = memoryAtStart.oomKills;
    sidecar.pipeOutput(log);
    connection.onMessage((channel, message) => {
      const memory = channel === "shell" ? memoryReportOf(message) : undefined;
      if (memory) sidecar.lastMemory = memory;
    });
    sidecar.heartbeat = new HeartbeatMonitor(
      connection.heartbeat,
      { intervalMs: launch.heartbeatIntervalMs ?? 1000, timeToDeadMs: launch.timeToDeadMs ?? 10_000 },
      (silentMs) => {
        // Already dead or dying (say the OOM killer's SIGKILL, slow to tear down a big process): its exit will say why.
        const dying = child.pid !== undefined && processIsDying(child.pid);
        if (!dying) sidecar.deathReason = `the engine stopped responding (no heartbeat for ${(silentMs / 1000).toFixed(1)} s) and was killed`;
        log.write(`\n[glm-chat] ${sidecar.deathReason ?? `no heartbeat for ${(silentMs / 1000).toFixed(1)} s; the process is already dying`}\n`);
        child.kill("SIGKILL");
      },
    );
    void exited.then((exit) => {
      sidecar.exit = exit;
      const memory = sidecar.readLimit();
      sidecar.limitBytes = memory.limitBytes;
      sidecar.oomKilled = memory.oomKills !== undefined && sidecar.oomKillsAtStart !== undefined && memory.oomKills > sidecar.oomKillsAtStart;
      for (const listener of sidecar.exitListeners) listener();
      sidecar.heartbeat?.stop();
      const verdict = sidecar.exitError("");
      const oom = verdict.code === "SIDECAR_OUT_OF_MEMORY" ? `[glm-chat] ${verdict.message}\n` : "";
      log.end(`\n[glm-chat] sidecar exited: code ${exit.exitCode ?? "-"} signal ${exit.signal ?? "-"}\n${oom}`);
      void connection.close(); // a dead sidecar's sockets and ipc dir go with it
    });
    onStatus({ state: "starting", detail: "starting the engine", logPath });
    try {
      await sidecar.waitReady(launch.stallTimeoutMs ?? 600_000, onStatus, stop);
    } catch (error) {
      await sidecar.stop();
      throw error;
    }
    return sidecar;
  }

  /** Calls `listener` once when the process exits (at once if it already has); returns an unsubscribe. */
  onExit(listener: () => void): () => void {
    if (this.exit) {
      queueMicrotask(listener);
      return () => {};
    }
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  private pipeOutput(log: WriteStream): void {
    this.child.stdout?.on("data", (chunk: Buffer) => log.write(chunk));
    this.child.stderr?.on("data", (chunk: Buffer) => {
      log.write(chunk);
      this.stderr.push(chunk.toString());
    });
  }

  /** A SidecarError describing the child's death (out of memory, unresponsive, exited), with its last stderr lines. */
  exitError(context: string): SidecarError {
    const facts = { exit: this.exit, deathReason: this.deathReason, lastMemory: this.lastMemory, limitBytes: this.limitBytes, oomKilled: this.oomKilled };
    return deathError(facts, context, { stderrTail: this.stderr.report(), logPath: this.logPath });
  }

  private waitReady(stallMs: number, onStatus: (s: Partial<BackendStatus>) => void, stop?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer = setTimeout(onStall, stallMs);
      function onStall() {
        finish(new SidecarError("SIDECAR_STALLED", `the engine showed no loading progress for ${Math.round(stallMs / 1000)} s`));
      }
      // Closing while the model loads (Ctrl+C in the chat, a cancelled quantize) must not wait for the load to end.
      const onStop = () => finish(new SidecarError("SIDECAR_STOPPED", "glm-chat is shutting down"));
      const finish = (error?: Error) => {
        clearTimeout(timer);
        unsubscribe();
        offExit();
        stop?.removeEventListener("abort", onStop);
        if (error) reject(error);
        else resolve();
      };
      stop?.addEventListener("abort", onStop);
      const offExit = this.onExit(() => finish(this.exitError("while loading")));
      let ready = false; // the model is loaded, and...
      const finishWhenReady = () => ready && this.connection.connected("control") && finish(); // ...both channels are up
      const unsubscribe = this.connection.onMessage((channel, message) => {
        clearTimeout(timer);
        timer = setTimeout(onStall, stallMs);
        if (message.msg_type === "hello") {
          const hello = message.content as unknown as HelloContent;
          this.pid = hello.pid;
          if (channel === "shell") this.heartbeat?.start();
          if (hello.protocol_version !== PROTOCOL_VERSION) {
            finish(new SidecarError("SIDECAR_PROTOCOL_MISMATCH", `sidecar speaks protocol ${hello.protocol_version}, expected ${PROTOCOL_VERSION}`));
          }
          finishWhenReady();
          return;
        }
        if (channel !== "shell" || message.msg_type !== "status") return;
        const status = message.content as unknown as StatusContent;
        if (status.state === "loading") {
          const pct = typeof status.progress === "number" ? ` ${Math.round(status.progress * 100)}%` : "";
          onStatus({ state: "loading", phase: status.phase, progress: status.progress ?? undefined,
            detail: `${status.phase}${pct}${status.detail ? ` (${status.detail})` : ""}` });
        } else if (status.state === "ready") {
          this.info = status.info;
          ready = true;
          finishWhenReady();
        } else if (status.state === "failed") {
          const extras = { stderrTail: this.stderr.report(), logPath: this.logPath };
          finish(isErrorContent(status)
            ? errorFromReply(status, "ENGINE_LOAD_FAILED", extras)
            : new SidecarError("ENGINE_LOAD_FAILED", String(status.evalue ?? "unknown error"), extras));
        }
      });
      if (stop?.aborted) onStop(); // closed while the process was being spawned
    });
  }

  /** Idempotent: asks politely on the control channel, then SIGTERM, then SIGKILL; removes the ipc dir. */
  stop(graceMs = 3000): Promise<void> {
    this.stopping ??= (async () => {
      this.heartbeat?.stop();
      if (!this.exit && this.connection.connected("control")) {
        await this.connection.send("control", "shutdown_request", {}).catch(() => {});
      }
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        if (this.exit || (await raceTimeout(this.exited, graceMs))) break;
        if (signal === "SIGKILL") this.deathReason ??= "the engine did not stop when asked and was killed"; // ours, not an OOM kill
        this.child.kill(signal);
      }
      await this.exited;
      await this.connection.close();
    })();
    return this.stopping;
  }
}

async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}
