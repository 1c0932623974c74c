// Pull events folded into the progress view, its plain lines, and the Ink bars drawn from it.
import { render } from "ink-testing-library";
import { createElement } from "react";
import { describe, expect, it } from "vitest";
import type { PullEvent } from "../../src/download/events.ts";
import { plainLine, reducePullView, type PullView } from "../../src/download/progress-view.ts";
import { DownloadProgress } from "../../src/ui/DownloadProgress.tsx";

const MB = 1_000_000;
const events: [number, PullEvent][] = [
  [0, { type: "start", file: "glm_6b.ckpt", url: "http://m/glm_6b.ckpt", size: 100 * MB, resumed_bytes: 10 * MB, integrity: "md5", integrity_note: null }],
  [500, { type: "progress", file: "glm_6b.ckpt", bytes: 20 * MB, size: 100 * MB, hashed: 0 }],
  [1000, { type: "progress", file: "glm_6b.ckpt", bytes: 30 * MB, size: 100 * MB, hashed: 0 }],
  [1100, { type: "retry", file: "glm_6b.ckpt", part: 3, attempt: 1, delay_ms: 900, reason: "connection closed" }],
];

function fold(upTo = events.length): PullView {
  return events.slice(0, upTo).reduce((v, [t, e]) => reducePullView(v, e, t), { files: [] } as PullView);
}

describe("progress view", () => {
  it("tracks bytes, a smoothed rate and the ETA", () => {
    const f = fold().files[0]!;
    expect(f.bytes).toBe(30 * MB);
    expect(f.rateBps).toBeCloseTo(20 * MB, -5);
    expect(f.etaS).toBeCloseTo(3.5, 0);
    expect(f.note).toContain("retry 1 in 900 ms");
  });

  it("prints plain lines: the start, each 10 %, notes and the end", () => {
    let view: PullView = { files: [] };
    const deciles = new Map<string, number>();
    const lines = events.map(([t, e]) => {
      view = reducePullView(view, e, t);
      return plainLine(e, view, deciles);
    });
    expect(lines[0]).toBe("glm_6b.ckpt: downloading 100.0 MB from http://m/glm_6b.ckpt (resuming at 10.0 MB)");
    expect(lines[1]).toMatch(/^glm_6b\.ckpt: 20\.0 MB \/ 100\.0 MB {2}20%/);
    expect(lines[2]).toMatch(/30%/);
    expect(lines[3]).toContain("part 3: connection closed");
  });

  it("says why a file is checked by size only, at the start and at the end", () => {
    const note = 'size only: the ETag "0123456789abcdef0123456789abcdef-12" is from a multipart upload, not an MD5 of the file';
    const start: PullEvent = { type: "start", file: "f", url: "http://m/f", size: MB, resumed_bytes: 0, integrity: "size", integrity_note: note };
    const done: PullEvent = { type: "done", file: "f", path: "/m/f", action: "download", integrity: "size", integrity_note: note, digest: null, verify_ms: 0 };
    const deciles = new Map<string, number>();
    let view = reducePullView({ files: [] }, start, 0);
    expect(plainLine(start, view, deciles)).toBe(`f: downloading 1.0 MB from http://m/f; ${note}`);
    expect(view.files[0]!.note).toBe(note);
    view = reducePullView(view, done, 10);
    expect(plainLine(done, view, deciles)).toBe(`f: downloaded, verified (${note}) → /m/f`);
  });

  it("draws a bar per file with the numbers", () => {
    const { lastFrame } = render(createElement(DownloadProgress, { view: fold(3) }));
    expect(lastFrame()).toMatch(/glm_6b\.ckpt\s+\[#######-+\] 30\.0 MB \/ 100\.0 MB {2}30%/);
    const done = reducePullView(fold(3), { type: "done", file: "glm_6b.ckpt", path: "/m/glm_6b.ckpt", action: "download", integrity: "md5", integrity_note: null, digest: "x", verify_ms: 5 }, 2000);
    expect(render(createElement(DownloadProgress, { view: done })).lastFrame()).toContain("✓ glm_6b.ckpt");
  });
});
