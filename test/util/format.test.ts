// Bytes and durations as the console, the status line and the errors print them.
import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatMilliseconds } from "../../src/util/format.ts";

describe("format", () => {
  it("writes bytes in decimal units with one decimal place", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(13_415_858_176)).toBe("13.4 GB");
    expect(formatBytes(2_706_249)).toBe("2.7 MB");
  });

  it("writes an elapsed time or ETA in seconds, minutes or hours; -- when unknown", () => {
    expect(formatDuration(3725)).toBe("1h02m");
    expect(formatDuration(303)).toBe("5m03s");
    expect(formatDuration(6.6)).toBe("7s");
    expect(formatDuration(null)).toBe("--");
    expect(formatDuration(Infinity)).toBe("--");
  });

  it("formats durations in ms below a second, in s above", () => {
    expect(formatMilliseconds(12.4)).toBe("12 ms");
    expect(formatMilliseconds(2345)).toBe("2.3 s");
  });
});
