// <App> input: multi-line questions, bracketed paste, ↑/↓ history across runs, Ctrl+L, command hints and Tab.
import { cleanup } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryInputHistory } from "../../src/chat/input-history-store.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { KEYS, renderApp } from "./render-app.tsx";

afterEach(() => cleanup());

const UP = "\u001b[A";
const DOWN = "\u001b[B";

describe("App input", () => {
  it("Ctrl+J and Alt+Enter add lines; Enter sends the whole question", async () => {
    const app = renderApp();
    app.stdin.write("line one");
    await app.see("› line one");
    app.stdin.write("\n");
    app.stdin.write("line two");
    app.stdin.write("\u001b\r");
    app.stdin.write("three");
    await app.see("line two\n", "three");
    app.stdin.write(KEYS.enter);
    const turn = await app.backend.turnAt(0);
    expect(turn.prompt).toBe("line one\nline two\nthree");
  });

  it("a bracketed paste keeps its line breaks and does not send", async () => {
    const app = renderApp();
    app.stdin.write("\u001b[200~");
    app.stdin.write("a\rb\r");
    app.stdin.write("\u001b[201~");
    app.stdin.write("c");
    await app.see("b\n", "c");
    expect(app.backend.turns).toHaveLength(0);
    app.stdin.write(KEYS.enter);
    expect((await app.backend.turnAt(0)).prompt).toBe("a\nb\nc");
  });

  it("↑/↓ browse earlier questions, also those of an earlier run", async () => {
    const history = new MemoryInputHistory(["from last run"]);
    const first = renderApp(undefined, { inputHistory: history });
    first.backend.reply("A");
    await first.ask("new question");
    await first.see("A", "ready");
    first.unmount();

    const app = renderApp(undefined, { inputHistory: history });
    app.stdin.write("dra");
    await app.see("› dra");
    app.stdin.write(UP);
    await app.see("› new question");
    app.stdin.write(UP);
    await app.see("› from last run");
    app.stdin.write(DOWN);
    app.stdin.write(DOWN);
    await app.see("› dra");
    expect(history.load()).toEqual(["from last run", "new question"]);
  });

  it("Ctrl+L clears the screen but keeps the conversation", async () => {
    const app = renderApp();
    app.backend.reply("kept answer");
    await app.ask("q");
    await app.see("kept answer", "ready");
    const before = app.frames.length;
    app.stdin.write("\u000c");
    await waitFor(() => expect(app.frames.slice(before).join("")).toContain("\u001b[2J"));
    expect(app.session.history).toHaveLength(1);
    expect(app.onExit).not.toHaveBeenCalled();
  });

  it("shows matching commands while a / word is typed; Tab completes a unique one", async () => {
    const app = renderApp();
    app.stdin.write("/s");
    await app.see("/set NAME VALUE", "/save [NAME]", "/sessions", "/stats");
    app.stdin.write("t");
    await app.see("/stats");
    await waitFor(() => expect(app.frame()).not.toContain("/sessions"));
    app.stdin.write("a");
    app.stdin.write("\t");
    await app.see("› /stats");
    app.stdin.write("x");
    await waitFor(() => expect(app.frame()).not.toContain("the last answer's tokens"));
  });
});
