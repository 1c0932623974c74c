// The status line names the weights' precision, and with --precision auto also why it was chosen.
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { StatusLine } from "../../src/ui/StatusLine.tsx";

const ready = { state: "ready" as const, device: "CPU:0", engine: "native 0.1.0 / mindspore 2.7.2" };

describe("StatusLine precision", () => {
  it("shows auto's choice with the fact behind a fallback, an explicit one as its name, and nothing when unknown", () => {
    const reason = "auto: float16 needs about 15.6 GB, more than 12.0 GB of RAM available with a 10 % margin; int8 needs about 8.3 GB";
    const auto = render(<StatusLine status={{ ...ready, precision: { value: "int8", reason } }} turn="none" stats={undefined} />);
    expect(auto.lastFrame()!.replace(/\s+/g, " ")).toContain("native 0.1.0 / mindspore 2.7.2 · int8 (auto: float16 needs about 15.6 GB) ");
    const fits = render(<StatusLine status={{ ...ready, precision: { value: "float16", reason: "auto: about 532.1 MB fits in 23.8 GB of RAM available" } }} turn="none" stats={undefined} />);
    expect(fits.lastFrame()!.replace(/\s+/g, " ")).toContain("mindspore 2.7.2 · float16 (auto) ");
    expect(fits.lastFrame()).not.toContain("532.1 MB");
    const given = render(<StatusLine status={{ ...ready, precision: { value: "int4", reason: "--precision int4" } }} turn="none" stats={undefined} />);
    expect(given.lastFrame()).toContain("mindspore 2.7.2 · int4");
    expect(given.lastFrame()).not.toContain("--precision");
    expect(render(<StatusLine status={ready} turn="none" stats={undefined} />).lastFrame()).not.toMatch(/int8|int4|float/);
  });

  it("says when int8/int4 matrices are decoded in the graph (Ascend/GPU), given or picked by auto", () => {
    const npu = { ...ready, device: "Ascend:0" };
    const given = render(<StatusLine status={{ ...npu, precision: { value: "int4", reason: "--precision int4", decodedInGraph: true } }} turn="none" stats={undefined} />);
    expect(given.lastFrame()!.replace(/\s+/g, " ")).toContain("mindspore 2.7.2 · int4, decoded per matrix ");
    const reason = "auto: float16 needs about 16.0 GB, more than 12.6 GB free with a 10 % margin; int8 needs about 9.7 GB";
    const auto = render(<StatusLine status={{ ...npu, precision: { value: "int8", reason, decodedInGraph: true } }} turn="none" stats={undefined} />);
    expect(auto.lastFrame()!.replace(/\s+/g, " ")).toContain("int8 (auto: float16 needs about 16.0 GB), decoded per matrix ");
  });
});
