// Keeps the last lines a child printed, and separately its last error-looking lines, for crash reports.

const ERROR_LINE = /\b(error|exception|traceback|fatal|killed|segmentation fault)\b|^\s*File "/i;

export class StderrTail {
  private lines: string[] = [];
  private errors: string[] = [];
  private partial = "";

  constructor(
    private readonly maxLines = 40,
    private readonly maxErrors = 10,
  ) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    for (const line of parts) this.add(line);
  }

  private add(line: string): void {
    if (line.trim() === "") return;
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.shift();
    if (ERROR_LINE.test(line)) {
      this.errors.push(line);
      if (this.errors.length > this.maxErrors) this.errors.shift();
    }
  }

  /** The last `n` lines, including an unterminated last line. */
  tail(n = 12): string[] {
    const all = this.partial.trim() ? [...this.lines, this.partial] : this.lines;
    return all.slice(-n);
  }

  errorLines(): string[] {
    return [...this.errors];
  }

  /** What to show after a crash: error lines that scrolled out of the tail, then the tail itself. */
  report(n = 12): string[] {
    const tail = this.tail(n);
    const earlier = this.errors.filter((line) => !tail.includes(line));
    return earlier.length ? [...earlier.slice(-4), "…", ...tail] : tail;
  }
}
