// pip's output read into progress (lines captured from pip 23.2 and 24.2), and the live line / plain lines shown for it.
import { describe, expect, it } from "vitest";
import { describePip, fitStepText, installReporter, PLAIN_EVERY_MS } from "../../src/python-env/install-progress-view.ts";
import type { InstallEvent } from "../../src/python-env/python-env.ts";
import { initialPipReadState, parseSize, readPipLine, type PipReadState } from "../../src/python-env/pip-progress.ts";

const read = (lines: string[]): PipReadState => lines.reduce(readPipLine, initialPipReadState());

describe("readPipLine", () => {
  it("counts packages and announced download sizes (pip 23, --progress-bar off)", () => {
    const state = read([
      "Looking in links: /opt/wheels",
      "Collecting six==1.16.0 (from -r requirements.txt (line 1))",
      "  Downloading six-1.16.0-py2.py3-none-any.whl (11 kB)",
      "Requirement already satisfied: numpy in /usr/lib/python3/site-packages (from -r requirements.txt (line 2)) (1.26.4)",
      "Collecting msgpack",
      "  Downloading msgpack-1.2.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl (480 kB)",
    ]);
    expect(state.progress).toMatchObject({ phase: "downloading", packagesSeen: 3, current: "msgpack", downloadedBytes: 491_000 });
    const done = read([...["Collecting six", "  Downloading six-1.16.0-py2.py3-none-any.whl (11 kB)"], "Installing collected packages: six, msgpack", "Successfully installed msgpack-1.2.4 six-1.16.0"]);
    expect(done.progress).toMatchObject({ phase: "done", installing: 2, downloadedBytes: 11_000 });
  });

  it("follows the running download's bytes where pip reports them (pip >= 24.1, --progress-bar raw)", () => {
    const start = ["Collecting grpcio==1.68.1", "  Downloading grpcio-1.68.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl (5.9 MB)", "Progress 0 of 5939920"];
    expect(read(start).progress.downloadedBytes).toBe(0);
    expect(read([...start, "Progress 262144 of 5939920"]).progress.downloadedBytes).toBe(262_144);
    const next = read([...start, "Progress 5939920 of 5939920", "Collecting six", "  Downloading six-1.16.0-py2.py3-none-any.whl (11 kB)"]);
    expect(next.progress.downloadedBytes).toBe(5_939_920 + 11_000);
  });

  it("names local files and wheels being built, and leaves unknown lines alone", () => {
    expect(read(["Processing ./tinypkg-0.1-py3-none-any.whl"]).progress.current).toBe("tinypkg");
    expect(read(["Building wheel for jieba (setup.py) ... done"]).progress).toMatchObject({ phase: "building", current: "jieba" });
    const s = initialPipReadState();
    expect(readPipLine(s, "  Attempting uninstall: six")).toBe(s);
    expect(parseSize("1.2 GB")).toBe(1_200_000_000);
    expect(parseSize("what")).toBeUndefined();
  });
});

function capture(isTTY: boolean) {
  let text = "";
  let clock = 0;
  const reporter = installReporter({ write: (s: string) => (text += s), isTTY, columns: 100 }, "glm-chat: ", () => clock);
  return { send: (...events: InstallEvent[]) => events.forEach((e) => reporter.onEvent(e)), text: () => text, tick: (ms: number) => (clock += ms) };
}

const progress = (lines: string[]) => ({ type: "pip" as const, progress: read(lines).progress });

describe("installReporter", () => {
  const collecting = ["Collecting six", "  Downloading six-1.16.0-py2.py3-none-any.whl (11.0 MB)"];

  it("in a terminal redraws one line (step, package i, MB downloaded, elapsed) and ends it with a summary", () => {
    const out = capture(true);
    out.send({ type: "step", text: "Installing the sidecar's Python packages" });
    out.tick(3000);
    out.send(progress(collecting));
    expect(out.text()).toMatch(/\r\x1b\[Kglm-chat: Installing the sidecar's Python packages · package 1 \(six\) · 11\.0 MB downloaded · 3s$/);
    out.tick(62_000);
    out.send(progress([...collecting, "Installing collected packages: six", "Successfully installed six-1.16.0"]), { type: "step-done" });
    expect(out.text()).toMatch(/\r\x1b\[Kglm-chat: Installing the sidecar's Python packages: done in 1m05s \(installed 1 package · 11\.0 MB downloaded\)\n$/);
    expect(out.text().split("\n")).toHaveLength(2); // one finished line, nothing after it
  });

  it("shortens a long step text first, so the numbers stay on the one row", () => {
    let text = "";
    const reporter = installReporter({ write: (s: string) => (text += s), isTTY: true, columns: 80 }, "glm-chat: ", () => 0);
    reporter.onEvent({ type: "step", text: `Installing the sidecar's packages into ${"/very/long/path".repeat(5)}` });
    reporter.onEvent(progress(collecting));
    const last = text.split("\r\x1b[K").at(-1)!;
    expect(last.length).toBeLessThanOrEqual(79);
    expect(last).toMatch(/^glm-chat: Installing the… · /); // whole words, never mid-word
    expect(last.endsWith(" · package 1 (six) · 11.0 MB downloaded · 0s")).toBe(true);
    reporter.onEvent({ type: "step-done" });
  });

  it("says how many packages are in place while pip installs in silence", () => {
    const installing = { phase: "installing" as const, packagesSeen: 41, current: undefined, installing: 41, downloadedBytes: 975_700_000 };
    expect(describePip(installing)).toBe("installing 41 packages · 975.7 MB downloaded");
    expect(describePip({ ...installing, installedSoFar: 12 })).toBe("installing 41 packages (12 in place) · 975.7 MB downloaded");
  });

  it("drops a step's parenthetical before cutting into its words", () => {
    const step = "Installing MindSpore + MindFormers (about 1 GB; MindSpore is not importable here)";
    expect(fitStepText(step, 100)).toBe(step);
    expect(fitStepText(step, 40)).toBe("Installing MindSpore + MindFormers");
    expect(fitStepText(step, 25)).toBe("Installing MindSpore +…");
  });

  it("without a terminal prints the step, a line per pip phase (and every 30 s within one), and the outcome", () => {
    const out = capture(false);
    out.send({ type: "step", text: "Installing X" }, progress(["Collecting six"]), progress(["Collecting six", "Collecting msgpack"]));
    out.tick(PLAIN_EVERY_MS);
    out.send(progress(["Collecting six", "Collecting msgpack", "Collecting zmq"]), progress(collecting));
    out.tick(1000);
    out.send({ type: "note", text: "a note" }, { type: "step-failed" });
    expect(out.text().split("\n")).toEqual([
      "glm-chat: Installing X",
      "glm-chat:   resolving: package 1 (six) · 0s",
      "glm-chat:   resolving: package 3 (zmq) · 30s",
      "glm-chat:   downloading: package 1 (six) · 11.0 MB downloaded · 30s",
      "glm-chat: a note",
      "glm-chat:   failed in 31s (package 1 (six) · 11.0 MB downloaded)",
      "",
    ]);
  });
});
