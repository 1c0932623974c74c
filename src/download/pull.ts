// The programmatic pull: find or download every model file, verified, into the model dir (used by `glm-chat pull` and start-up).
import { access, constants, mkdir, rmdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Dispatcher } from "undici";
import { checkDiskSpace, freeBytes as statfsFreeBytes, type FreeBytes } from "./disk-space.ts";
import { fsError } from "./errors.ts";
import type { PullEvent, PullPlan } from "./events.ts";
import { fetchFile, type TransferSettings } from "./fetch-file.ts";
import { candidateDirs, placeFoundFile } from "./find-existing.ts";
import { createDispatcher } from "./http-source.ts";
import { MODEL_MANIFEST, parseMirror, sourceUrls, type ManifestEntry } from "./manifest.ts";
import { resolveFile, type PlanContext, type ResolvedFile } from "./plan-files.ts";
import { syncData, writeAt, type SyncData, type WriteAt } from "./range-downloader.ts";
import { cancelled } from "./retry-policy.ts";
import { writeMarker } from "./verified-marker.ts";

export interface PullOptions {
  modelDir: string;
  /** Base URLs tried in order before each file's default source. */
  mirrors?: readonly string[];
  /** Parallel connections per file (default 8). */
  connections?: number;
  /** SHA-256 pins by file name; they take precedence over the server's ETag. */
  sha256?: Readonly<Record<string, string>>;
  /** A file found elsewhere on this machine is symlinked (default) or copied into the model dir. */
  foundFiles?: "link" | "copy";
  stallTimeoutMs?: number;
  maxAttempts?: number;
  maxStalls?: number;
  backoffMs?: number;
  persistIntervalMs?: number;
  partSize?: number;
  /** Defaults to MODEL_MANIFEST. */
  files?: readonly ManifestEntry[];
  /** Defaults to candidateDirs(env, cwd): MindFormers' checkpoint_download/glm and the OpenI/ModelArts folders. */
  searchDirs?: readonly { dir: string; deep: boolean }[];
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Asked once the plan is known and something must be fetched or copied; false cancels. */
  confirm?: (plan: PullPlan) => Promise<boolean>;
  dispatcher?: Dispatcher;
  /** Injection points for tests: the positional write, the fdatasync and the free-space query. */
  write?: WriteAt;
  datasync?: SyncData;
  freeBytes?: FreeBytes;
}

export interface PullResult {
  plan: PullPlan;
}

/** Makes `dir` if needed; resolves with the first folder this made (undefined when it was all there). */
async function ensureWritableDir(dir: string): Promise<string | undefined> {
  try {
    const made = await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return made;
  } catch (err) {
    throw fsError(err, `preparing the model dir ${dir}`);
  }
}

/** After a pull that wrote nothing (declined, failed, cancelled): removes the folders it made, as long as they are empty. */
async function removeEmptyDirsMade(dir: string, firstMade: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    if (!(await rmdir(d).then(() => true, () => false)) || d === firstMade || dirname(d) === d) return;
  }
}

function describeProxies(env: NodeJS.ProcessEnv): string | null {
  const names = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];
  const set = names.filter((n) => env[n]).map((n) => `${n}=${env[n]}`);
  return set.length > 0 ? set.join(" ") : null;
}

export function makePlan(modelDir: string, resolved: readonly ResolvedFile[], how: "link" | "copy"): PullPlan {
  const files = resolved.map((r) => r.planned);
  const needed = files.reduce((sum, f) => {
    if (f.action === "download") return sum + (f.size ?? 0) - f.resumed_bytes;
    return f.action === "found" && how === "copy" ? sum + (f.size ?? 0) : sum;
  }, 0);
  return { model_dir: modelDir, files, needed_bytes: needed };
}

export async function pullModelFiles(options: PullOptions, onEvent: (event: PullEvent) => void = () => undefined): Promise<PullResult> {
  const env = options.env ?? process.env;
  const signal = options.signal ?? new AbortController().signal;
  const how = options.foundFiles ?? "link";
  const mirrors = (options.mirrors ?? []).map(parseMirror);
  const madeDir = await ensureWritableDir(options.modelDir);
  const ownDispatcher = options.dispatcher ? null : createDispatcher(env);
  const ctx: PlanContext = {
    modelDir: options.modelDir,
    searchDirs: options.searchDirs ?? candidateDirs(env, process.cwd()),
    pins: options.sha256 ?? {},
    dispatcher: options.dispatcher ?? ownDispatcher!,
    signal,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    maxAttempts: options.maxAttempts ?? 6,
    backoffMs: options.backoffMs ?? 1000,
    proxyNote: describeProxies(env),
    onEvent,
  };
  const settings: TransferSettings = {
    connections: options.connections ?? 8,
    stallTimeoutMs: ctx.stallTimeoutMs,
    maxAttempts: ctx.maxAttempts,
    maxStalls: options.maxStalls ?? 10,
    backoffMs: ctx.backoffMs,
    persistIntervalMs: options.persistIntervalMs ?? 100,
    partSize: options.partSize,
    write: options.write ?? writeAt,
    sync: options.datasync ?? syncData,
  };
  try {
    const resolved: ResolvedFile[] = [];
    for (const entry of options.files ?? MODEL_MANIFEST) {
      resolved.push(await resolveFile(entry, sourceUrls(entry, mirrors), ctx));
    }
    const plan = makePlan(options.modelDir, resolved, how);
    onEvent({ type: "plan", plan });
    await checkDiskSpace(options.modelDir, plan.needed_bytes, options.freeBytes ?? statfsFreeBytes);
    const work = plan.files.some((f) => f.action !== "present");
    if (work && options.confirm && !(await options.confirm(plan))) throw cancelled();
    for (const rf of resolved) {
      if (signal.aborted) throw cancelled();
      const { planned } = rf;
      if (planned.action === "download") {
        await fetchFile(rf, ctx, settings);
        continue;
      }
      if (planned.action === "found" && planned.from) await placeFoundFile(planned.from, planned.path, how);
      if (planned.integrity !== "none" && !rf.fromMarker) await writeMarker(planned.path, planned.integrity, rf.expect.digest, planned.from ?? planned.path);
      const { file, path, action, integrity, integrity_note } = planned;
      onEvent({ type: "done", file, path, action, integrity, integrity_note, digest: rf.expect.digest, verify_ms: 0 });
    }
    return { plan };
  } catch (err) {
    // A pull that wrote nothing (declined, offline, a mistyped --model-dir) leaves no empty folder behind.
    if (madeDir) await removeEmptyDirsMade(options.modelDir, madeDir);
    throw err;
  } finally {
    await ownDispatcher?.destroy();
  }
}
