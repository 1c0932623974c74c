// quantize's progress line: bar, percent, elapsed and time left from the fraction; the sidecar's own words while no fraction is known.
import { describe, expect, it } from "vitest";
import { progressLine } from "../../src/commands/quantize-view.ts";

describe("progressLine", () => {
  it("draws the bar and estimates the time left from the fraction done so far", () => {
    expect(progressLine("int4", { state: "loading", phase: "quantize", progress: 0.25 }, 60)).toBe("making the int4 copy [#####               ]  25% · 1m00s, about 3m00s left");
    expect(progressLine("int8", { state: "loading", phase: "quantize", progress: 0.01 }, 3)).toBe("making the int8 copy [                    ]   1% · 3s");
    expect(progressLine("int8", { state: "loading", phase: "quantize", progress: 1 }, 90)).toBe("making the int8 copy [####################] 100% · 1m30s");
  });

  it("gives the sidecar's words without the phase name around them, and nothing once loading is over", () => {
    expect(progressLine("int8", { state: "loading", phase: "quantize", detail: "quantize (waiting for another process making this copy)" }, 0))
      .toBe("waiting for another process making this copy");
    expect(progressLine("int8", { state: "starting", detail: "starting the engine" }, 0)).toBe("starting the engine");
    expect(progressLine("int8", { state: "ready" }, 0)).toBeUndefined();
  });
});
