// <App> commands and screens: /retry, /stats, /help, the loading panel, long answers, 40 columns, NO_COLOR.
import { cleanup } from "ink-testing-library";
import stringWidth from "string-width";
import { afterEach, describe, expect, it } from "vitest";
import { codedError } from "../fakes/fake-backend.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { renderApp } from "./render-app.tsx";

afterEach(() => cleanup());

function resize(app: ReturnType<typeof renderApp>, columns: number, rows = 24): void {
  Object.defineProperty(app.stdout, "columns", { value: columns, configurable: true });
  Object.defineProperty(app.stdout, "rows", { value: rows, configurable: true });
  app.stdout.emit("resize");
}

describe("App /retry and /stats", () => {
  it("/retry asks the last question again and replaces its answer in the history", async () => {
    const app = renderApp();
    app.backend.reply("first try").reply("second try");
    await app.ask("the question");
    await app.see("first try", "ready");
    await app.ask("/retry");
    await app.see("Answering the last question again", "second try");
    expect(app.backend.turns[1]!.prompt).toBe("the question");
    expect(app.session.history).toEqual([{ query: "the question", answer: "second try" }]);
  });

  it("/retry after an answer that failed before any text asks that question, keeping earlier rounds", async () => {
    const app = renderApp();
    app.backend.reply("A1");
    await app.ask("Q1");
    await app.see("A1", "ready");
    await app.ask("Q2");
    (await app.backend.turnAt(1)).fail(codedError("SIDECAR_EXITED", "The engine exited."));
    await app.see("The engine exited.");
    app.backend.reply("A2");
    await app.ask("/retry");
    await app.see("A2");
    expect(app.backend.turns[2]!.prompt).toBe("[Round 0]\n问：Q1\n答：A1\n[Round 1]\n问：Q2\n答：");
    expect(app.session.history).toEqual([{ query: "Q1", answer: "A1" }, { query: "Q2", answer: "A2" }]);
  });

  it("/retry with nothing to retry says so", async () => {
    const app = renderApp();
    await app.ask("/retry");
    await app.see("✗ Nothing to answer again yet.");
    expect(app.backend.turns).toHaveLength(0);
  });

  it("/stats describes the last answer", async () => {
    const app = renderApp({ state: "ready", device: "CPU", engine: "fake 1.0", seqLength: 64 });
    await app.ask("/stats");
    await app.see("No answer yet");
    app.backend.reply("a", "b", "c");
    await app.ask("q w");
    await app.see("abc", "ready");
    await app.ask("/stats");
    await app.see("tokens: 3 in the prompt, 3 in the answer (ended: stop)", "first token 120 ms, total 220 ms", "speed: 20.0 tok/s", "context: 7/64 tokens");
  });

  it("/help lists every command and the keys", async () => {
    const app = renderApp();
    await app.ask("/help");
    await app.see("/retry", "/stats", "/export FILE", "/sessions", "Ctrl+J, Alt+Enter", "Ctrl+L", "↑ / ↓");
  });
});

describe("App screens", () => {
  it("shows the rounds of a continued session", async () => {
    const app = renderApp(undefined, { history: [{ query: "old question", answer: "old **answer**" }] });
    await app.see("› old question", "old answer");
  });

  it("shows load phases with progress, elapsed time and the phase in the status line", async () => {
    const app = renderApp({ state: "loading", phase: "checkpoint", progress: 0.4, device: "Ascend:0" });
    await app.see("Starting the engine… 0 ms", "✓ building the model", "› loading the checkpoint 40%", "compiling the graph");
    await app.see("● loading checkpoint 40% · Ascend:0");
    app.backend.setStatus({ state: "ready", device: "Ascend:0" });
    await waitFor(() => expect(app.frame()).not.toContain("Starting the engine"));
  });

  it("renders answers as Markdown", async () => {
    const app = renderApp(undefined, { noColor: true });
    app.backend.reply("**粗体**\n\n- 一\n- 二\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
    await app.ask("md");
    await app.see("粗体", "* 一", "│ 1 │ 2 │");
    expect(app.frame()).not.toContain("**");
    expect(app.frame()).not.toMatch(/\u001b\[3[0-9]m/);
  });

  it("moves the start of a long answer to the transcript so the live part stays short", async () => {
    const app = renderApp();
    resize(app, 40, 16);
    await app.ask("long");
    const turn = await app.backend.turnAt(0);
    const paragraphs = Array.from({ length: 12 }, (_, i) => `paragraph ${i}\n\n`);
    turn.delta(...paragraphs);
    await app.see("paragraph 11");
    turn.finish();
    await app.see("ready");
    // Every paragraph shows once, in order, a blank line apart also where the answer was cut.
    expect(app.frame()).toContain(paragraphs.join("").trim());
    expect(app.frame().split("paragraph 3\n").length).toBe(2);
    expect(app.session.history[0]!.answer).toBe(paragraphs.join("").trim());
  });

  it("fits a 40-column terminal: the status line wraps as one paragraph", async () => {
    const app = renderApp({ state: "ready", device: "Ascend:0", engine: "mindformers 1.3.2 / mindspore 2.7.2", seqLength: 512 });
    resize(app, 40);
    app.backend.reply("中文的回答中文的回答中文的回答中文的回答中文的回答中文的回答");
    await app.ask("q");
    await app.see("中文的回答", "ready");
    // What was drawn after the resize (the banner was printed at the old width).
    const after = app.frame().slice(app.frame().lastIndexOf("› q"));
    for (const line of after.split("\n")) expect(stringWidth(line)).toBeLessThanOrEqual(40);
    expect(after).toContain("中文的回答");
    await app.see("● ready · Ascend:0");
  });
});
