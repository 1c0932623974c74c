// Errors of the download area: one class, a stable code per failure, the original error as `cause`.

export type DownloadErrorCode =
  | "DOWNLOAD_DIGEST_MISMATCH"
  | "DOWNLOAD_SIZE_MISMATCH"
  | "DOWNLOAD_NO_SPACE"
  | "DOWNLOAD_HTTP"
  | "DOWNLOAD_NETWORK"
  | "DOWNLOAD_PROXY"
  | "DOWNLOAD_STALLED"
  | "DOWNLOAD_LOCKED"
  | "DOWNLOAD_CANCELLED"
  | "DOWNLOAD_UNWRITABLE"
  | "DOWNLOAD_BAD_MIRROR"
  | "DOWNLOAD_NO_SOURCE";

export class DownloadError extends Error {
  /** The file (manifest name) and the URL involved, when there is one. */
  readonly file: string | undefined;
  readonly url: string | undefined;
  /** HTTP status for DOWNLOAD_HTTP. */
  readonly status: number | undefined;

  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    options: { cause?: unknown; file?: string; url?: string; status?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "DownloadError";
    this.file = options.file;
    this.url = options.url;
    this.status = options.status;
  }

  get isCancelled(): boolean {
    return this.code === "DOWNLOAD_CANCELLED";
  }

  /** Failures that no retry and no other mirror can fix: stop the whole pull at once. */
  get isFatal(): boolean {
    return (
      this.code === "DOWNLOAD_CANCELLED" ||
      this.code === "DOWNLOAD_NO_SPACE" ||
      this.code === "DOWNLOAD_UNWRITABLE" ||
      this.code === "DOWNLOAD_LOCKED"
    );
  }
}

/** Wraps a filesystem error: ENOSPC/EDQUOT become DOWNLOAD_NO_SPACE, permission errors DOWNLOAD_UNWRITABLE. */
export function fsError(err: unknown, what: string, file?: string): DownloadError {
  if (err instanceof DownloadError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new DownloadError("DOWNLOAD_NO_SPACE", `no space left while ${what}; the partial download is kept`, { cause: err, file });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new DownloadError("DOWNLOAD_UNWRITABLE", `cannot write while ${what}: ${msg}`, { cause: err, file });
}
