// The load phases: the quantized copy's step shows only while --precision int8/int4 makes it.
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { LoadingPanel } from "../../src/ui/LoadingPanel.tsx";

describe("LoadingPanel", () => {
  it("shows the quantize step while the copy is made, and not otherwise", () => {
    const making = render(<LoadingPanel status={{ state: "starting", phase: "quantize", progress: 0.4, detail: "int8 copy: 5.37 of 13.42 GB read" }} />);
    const frame = making.lastFrame()!;
    expect(frame).toContain("› making the quantized copy of the checkpoint (once) 40%");
    expect(frame).toContain("✓ building the model");
    expect(frame).toContain("int8 copy: 5.37 of 13.42 GB read");
    const loading = render(<LoadingPanel status={{ state: "starting", phase: "checkpoint", progress: 0.5 }} />);
    expect(loading.lastFrame()).not.toContain("quantized copy");
    expect(loading.lastFrame()).toContain("› loading the checkpoint 50%");
  });
});
