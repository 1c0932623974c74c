// HTTP side of a download: a proxy-aware dispatcher, the probe (size, ETag, Range support) and ranged GETs.
import { request, type Dispatcher } from "undici";
import { DownloadError } from "./errors.ts";
import { ProxyRoutingDispatcher } from "./proxy-dispatcher.ts";

export interface RemoteFile {
  url: string;
  size: number;
  /** The ETag as sent (quotes kept), or null. */
  etag: string | null;
  /** The server answered a Range request with 206. */
  ranges: boolean;
}

/**
 * Honours HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case) from `env`, and nothing else. Built from
 * undici's stable Agent and ProxyAgent rather than its EnvHttpProxyAgent, which warns on the user's
 * terminal that it is experimental (undici 6).
 */
export function createDispatcher(env: NodeJS.ProcessEnv): Dispatcher {
  return new ProxyRoutingDispatcher({
    httpProxy: env.HTTP_PROXY ?? env.http_proxy ?? "",
    httpsProxy: env.HTTPS_PROXY ?? env.https_proxy ?? "",
    noProxy: env.NO_PROXY ?? env.no_proxy ?? "",
  });
}

/** What an ETag says about the bytes: a plain MD5 to check them against, or why it is not one. */
export type EtagDigest = { md5: string; note: null } | { md5: null; note: string };

/**
 * Object stores (Huawei OBS, S3, OSS) send the MD5 of a single-part upload as `"<32 hex>"`; a
 * multipart upload gets `"<32 hex>-<parts>"` (an MD5 of the parts' MD5s, not of the file), and a
 * weak `W/"…"` ETag promises nothing about the bytes. Only the first is used as a digest.
 */
export function etagDigest(etag: string | null): EtagDigest {
  if (etag === null || etag.trim() === "") return { md5: null, note: "size only: the server sent no ETag" };
  const tag = etag.trim().length > 80 ? `${etag.trim().slice(0, 77)}…` : etag.trim();
  if (/^W\//i.test(tag)) return { md5: null, note: `size only: the ETag ${tag} is weak, not a digest` };
  const m = /^(?:"([0-9a-f]{32})"|([0-9a-f]{32}))$/i.exec(etag.trim());
  const hex = m?.[1] ?? m?.[2];
  if (hex) return { md5: hex.toLowerCase(), note: null };
  if (/^"?[0-9a-f]{32}-\d+"?$/i.test(tag)) {
    return { md5: null, note: `size only: the ETag ${tag} is from a multipart upload, not an MD5 of the file` };
  }
  return { md5: null, note: `size only: the ETag ${tag} is not a plain MD5` };
}

export function md5FromEtag(etag: string | null): string | null {
  return etagDigest(etag).md5;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export function isRetryable(err: unknown): boolean {
  if (!(err instanceof DownloadError)) return true;
  if (err.code === "DOWNLOAD_HTTP") return err.status !== undefined && RETRYABLE_STATUS.has(err.status);
  return err.code === "DOWNLOAD_NETWORK" || err.code === "DOWNLOAD_SIZE_MISMATCH";
}

/** Turns what undici throws into a DownloadError; `signal` tells a cancel from a network failure. */
export function networkError(err: unknown, url: string, signal?: AbortSignal): DownloadError {
  if (err instanceof DownloadError) return err;
  if (signal?.aborted) return new DownloadError("DOWNLOAD_CANCELLED", "download cancelled", { cause: err, url });
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const msg = e.message ?? String(err);
  if (/proxy/i.test(msg)) {
    return new DownloadError("DOWNLOAD_PROXY", `the proxy refused ${url}: ${msg}`, { cause: err, url });
  }
  const detail = [e.code, e.cause?.code, e.cause?.message].filter(Boolean).join(" ");
  const plain = Object.entries(PLAIN_REASONS).find(([code]) => e.code === code || e.cause?.code === code)?.[1];
  const why = [detail, plain].filter(Boolean).join(": ");
  return new DownloadError("DOWNLOAD_NETWORK", `cannot fetch ${url}: ${msg}${why ? ` (${why})` : ""}`, { cause: err, url });
}

/** What the usual network error codes mean for someone at a notebook without a route out. */
const PLAIN_REASONS: Record<string, string> = {
  ENOTFOUND: "the host name does not resolve: no network or no DNS from here",
  EAI_AGAIN: "the host name does not resolve: no network or no DNS from here",
  ECONNREFUSED: "nothing listens there",
  ENETUNREACH: "no route to that network from here",
  EHOSTUNREACH: "no route to that host from here",
  ETIMEDOUT: "no answer: a firewall or no route out",
  UND_ERR_CONNECT_TIMEOUT: "no answer: a firewall or no route out",
};

export interface GetOptions {
  dispatcher: Dispatcher;
  signal: AbortSignal;
  headersTimeoutMs: number;
  range?: { from: number; to: number };
  ifRange?: string | null;
}

export async function httpGet(url: string, opts: GetOptions): Promise<Dispatcher.ResponseData> {
  const headers: Record<string, string> = { "user-agent": "glm-chat" };
  if (opts.range) headers.range = `bytes=${opts.range.from}-${opts.range.to}`;
  if (opts.range && opts.ifRange && !opts.ifRange.startsWith("W/")) headers["if-range"] = opts.ifRange;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: "GET",
      headers,
      dispatcher: opts.dispatcher,
      signal: opts.signal,
      maxRedirections: 5,
      headersTimeout: opts.headersTimeoutMs,
      bodyTimeout: 0,
    });
  } catch (err) {
    throw networkError(err, url, opts.signal);
  }
  // A body we stop reading (destroy) reports an AbortError; readers see real failures through iteration.
  res.body.on("error", () => undefined);
  return res;
}

export function header(res: Dispatcher.ResponseData, name: string): string | null {
  const v = res.headers[name];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}

/** `bytes a-b/total` → numbers; null when absent or malformed. */
export function parseContentRange(value: string | null): { from: number; to: number; total: number } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? "");
  return m ? { from: Number(m[1]), to: Number(m[2]), total: Number(m[3]) } : null;
}

export function statusError(res: Dispatcher.ResponseData, url: string): DownloadError {
  res.body.destroy();
  return new DownloadError("DOWNLOAD_HTTP", `${url} answered HTTP ${res.statusCode}`, { url, status: res.statusCode });
}

/** Asks for byte 0 only: the answer gives the size, the ETag and whether Range works. */
export async function probeRemote(url: string, opts: Omit<GetOptions, "range">): Promise<RemoteFile> {
  const res = await httpGet(url, { ...opts, range: { from: 0, to: 0 } });
  const etag = header(res, "etag");
  if (res.statusCode === 206) {
    res.body.destroy();
    const cr = parseContentRange(header(res, "content-range"));
    if (!cr) throw new DownloadError("DOWNLOAD_HTTP", `${url} sent 206 without a usable Content-Range`, { url, status: 206 });
    return { url, size: cr.total, etag, ranges: true };
  }
  if (res.statusCode === 200) {
    res.body.destroy();
    const len = Number(header(res, "content-length") ?? NaN);
    if (!Number.isSafeInteger(len)) throw new DownloadError("DOWNLOAD_HTTP", `${url} did not say how big the file is`, { url, status: 200 });
    return { url, size: len, etag, ranges: false };
  }
  throw statusError(res, url);
}
