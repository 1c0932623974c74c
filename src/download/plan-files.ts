// First phase of a pull: for each file, is it already verified, findable on this machine, or to be downloaded (and from where).
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Dispatcher } from "undici";
import { DownloadError } from "./errors.ts";
import type { Integrity, PlannedFile, PullEvent } from "./events.ts";
import { fileMatches, findFiles, type Expectation } from "./find-existing.ts";
import { etagDigest, isRetryable, probeRemote, type RemoteFile } from "./http-source.ts";
import type { ManifestEntry } from "./manifest.ts";
import { bytesDone } from "./part-plan.ts";
import { currentBootId, loadPartState, resumeParts } from "./part-state.ts";
import { backoffDelay, sleepUnlessAborted } from "./retry-policy.ts";
import { readMarker } from "./verified-marker.ts";

export interface ResolvedFile {
  entry: ManifestEntry;
  planned: PlannedFile;
  /** The first source that answered the probe, and every source in order. */
  remote: RemoteFile | null;
  urls: string[];
  expect: Expectation;
  probeErrors: DownloadError[];
  /** Present by its verified marker: nothing was re-checked. */
  fromMarker: boolean;
}

export interface PlanContext {
  modelDir: string;
  searchDirs: readonly { dir: string; deep: boolean }[];
  pins: Readonly<Record<string, string>>;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  stallTimeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  /** e.g. "HTTPS_PROXY=http://p:3128": said when no source answers, since the proxy may be why. */
  proxyNote: string | null;
  onEvent: (event: PullEvent) => void;
}

export function integrityOf(expect: Expectation): Integrity {
  if (expect.algorithm) return expect.algorithm;
  return expect.size === null ? "none" : "size";
}

/** Probes one URL, retrying 5xx / 429 with backoff; connection failures go straight to the next mirror. */
export async function probeWithRetry(url: string, ctx: PlanContext): Promise<RemoteFile> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await probeRemote(url, { dispatcher: ctx.dispatcher, signal: ctx.signal, headersTimeoutMs: ctx.stallTimeoutMs });
    } catch (err) {
      const e = err as DownloadError;
      if (e.code !== "DOWNLOAD_HTTP" || !isRetryable(e) || attempt >= ctx.maxAttempts) throw e;
      await sleepUnlessAborted(backoffDelay(attempt, ctx.backoffMs), ctx.signal);
    }
  }
}

export function expectationFor(entry: ManifestEntry, remote: RemoteFile | null, pin: string | undefined): Expectation {
  const size = remote?.size ?? entry.size ?? null;
  if (pin) return { size, algorithm: "sha256", digest: pin.toLowerCase(), note: null };
  if (!remote) return { size, algorithm: null, digest: null, note: size === null ? null : "size only: no source answered, so no ETag" };
  const etag = etagDigest(remote.etag);
  return etag.md5 ? { size, algorithm: "md5", digest: etag.md5, note: null } : { size, algorithm: null, digest: null, note: etag.note };
}

export async function resolveFile(entry: ManifestEntry, urls: string[], ctx: PlanContext): Promise<ResolvedFile> {
  const path = join(ctx.modelDir, entry.name);
  const pin = ctx.pins[entry.name] ?? entry.sha256;
  const base = { file: entry.name, path, size: entry.size ?? null, resumed_bytes: 0, integrity_note: null };
  const marker = await readMarker(path);
  if (marker && (!pin || (marker.algorithm === "sha256" && marker.digest === pin.toLowerCase()))) {
    const expect: Expectation = { size: marker.size, algorithm: null, digest: marker.digest, note: null };
    const integrity = marker.algorithm;
    const planned: PlannedFile = { ...base, size: marker.size, action: "present", from: null, integrity };
    return { entry, planned, remote: null, urls, expect, probeErrors: [], fromMarker: true };
  }
  let remote: RemoteFile | null = null;
  const probeErrors: DownloadError[] = [];
  for (const url of urls) {
    try {
      remote = await probeWithRetry(url, ctx);
      break;
    } catch (err) {
      const e = err as DownloadError;
      if (e.isFatal) throw e;
      probeErrors.push(e);
      ctx.onEvent({ type: "probe_failed", file: entry.name, url, code: e.code, message: e.message });
    }
  }
  const expect = expectationFor(entry, remote, pin);
  const integrity = integrityOf(expect);
  const here = await stat(path).then((st) => st.isFile(), () => false);
  const elsewhere = (await findFiles(entry.name, ctx.searchDirs)).filter((f) => f !== path);
  for (const candidate of here ? [path, ...elsewhere] : elsewhere) {
    ctx.onEvent({ type: "checking", file: entry.name, path: candidate });
    const match = await fileMatches(candidate, expect);
    if (!match.ok) continue;
    const action = candidate === path ? "present" : "found";
    const planned: PlannedFile = { ...base, size: expect.size, action, from: action === "found" ? candidate : null, integrity, integrity_note: expect.note };
    return { entry, planned, remote, urls, expect, probeErrors, fromMarker: false };
  }
  if (!remote) {
    const why = probeErrors.map((e) => `  ${e.message}`).join("\n") + (ctx.proxyNote ? `\n  (through the proxy settings ${ctx.proxyNote})` : "");
    throw new DownloadError(probeErrors.at(-1)?.code ?? "DOWNLOAD_NO_SOURCE", `${entry.name}: not found on this machine and no source answered:\n${why}`, {
      file: entry.name,
      cause: probeErrors,
    });
  }
  const saved = await loadPartState(`${path}.partial.json`);
  const resumed = saved && saved.size === remote.size && saved.etag === remote.etag && remote.ranges ? bytesDone(resumeParts(saved, await currentBootId())) : 0;
  const planned: PlannedFile = { ...base, size: remote.size, action: "download", resumed_bytes: resumed, from: remote.url, integrity, integrity_note: expect.note };
  return { entry, planned, remote, urls, expect, probeErrors, fromMarker: false };
}
