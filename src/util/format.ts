// Bytes and durations as people read them: one place for every console line, status line and error message.

/** Decimal units, one decimal place: "512 B", "13.4 GB". */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** An elapsed time or an ETA in whole seconds: "7s", "5m03s", "1h02m"; "--" when unknown. */
export function formatDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return "--";
  const t = Math.round(s);
  if (t >= 3600) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}m`;
  return t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s` : `${t}s`;
}

/** A short time from milliseconds: "12 ms" below a second, "2.3 s" above. */
export function formatMilliseconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
