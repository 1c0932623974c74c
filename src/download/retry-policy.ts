// Retry timing for parts and probes: jittered exponential backoff, and a sleep that a cancel cuts short.
import { DownloadError } from "./errors.ts";

/** Full jitter on an exponential ladder: uniform in [base/2, base) * 2^(attempt-1), capped at 30 s. */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(30_000, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancelled());
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function cancelled(cause?: unknown): DownloadError {
  return new DownloadError("DOWNLOAD_CANCELLED", "download cancelled; the partial download is kept for a resume", { cause });
}
