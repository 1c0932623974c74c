// The prompt's keys in the running app: editing at the cursor, ↑/↓ in a multi-line question, Ctrl+C/Ctrl+D at idle,
// typing + Enter in one chunk, input ignored while streaming.
import { cleanup } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait-for.ts";
import { MemoryInputHistory } from "../../src/chat/input-history-store.ts";
import { KEYS, renderApp } from "./render-app.tsx";

const LEFT = "\u001b[D";
const UP = "\u001b[A";
const DOWN = "\u001b[B";
const HOME = "\u001b[H";
const END = "\u001b[F";
const DELETE = "\u001b[3~";

afterEach(() => cleanup());

describe("prompt keys", () => {
  it("Backspace and Delete remove a character, Ctrl+U clears the line", async () => {
    const app = renderApp();
    app.stdin.write("abcd");
    await app.see("› abcd");
    app.stdin.write(KEYS.backspace);
    app.stdin.write("\b");
    await app.see("› ab");
    app.stdin.write(KEYS.ctrlU);
    await waitFor(() => expect(app.frame()).not.toContain("› ab"));
    app.stdin.write(KEYS.enter);
    expect(app.backend.turns).toHaveLength(0);
  });

  it("Ctrl+C clears a non-empty line; on an empty one with the engine loaded, it asks for a second press, which quits", async () => {
    const app = renderApp();
    app.stdin.write("draft");
    await app.see("› draft");
    app.stdin.write(KEYS.ctrlC);
    await waitFor(() => expect(app.frame()).not.toContain("draft"));
    expect(app.frame()).not.toContain("Press Ctrl+C again");
    app.stdin.write(KEYS.ctrlC);
    await app.see("Press Ctrl+C again to quit");
    expect(app.onExit).not.toHaveBeenCalled();
    app.stdin.write(KEYS.ctrlC);
    await waitFor(() => expect(app.onExit).toHaveBeenCalledWith(0));
  });

  it("the quit hint goes after ~2 s, and a Ctrl+C after that asks again instead of quitting", async () => {
    const app = renderApp({ state: "loading", phase: "compile" });
    app.stdin.write(KEYS.ctrlC);
    await app.see("Press Ctrl+C again to quit");
    await waitFor(() => expect(app.frame()).not.toContain("Press Ctrl+C again"), 4000);
    app.stdin.write(KEYS.ctrlC);
    await app.see("Press Ctrl+C again to quit");
    expect(app.onExit).not.toHaveBeenCalled();
  });

  it("Ctrl+C on an empty line quits at once where no engine is held (crashed)", async () => {
    const app = renderApp({ state: "crashed", detail: "engine died" });
    app.stdin.write(KEYS.ctrlC);
    await waitFor(() => expect(app.onExit).toHaveBeenCalledWith(0));
    expect(app.frame()).not.toContain("Press Ctrl+C again");
  });

  it("Ctrl+D exits only on an empty line", async () => {
    const app = renderApp();
    app.stdin.write("x");
    await app.see("› x");
    app.stdin.write(KEYS.ctrlD);
    await app.see("› x");
    expect(app.onExit).not.toHaveBeenCalled();
    app.stdin.write(KEYS.backspace);
    await waitFor(() => expect(app.frame()).not.toContain("› x"));
    app.stdin.write(KEYS.ctrlD);
    await waitFor(() => expect(app.onExit).toHaveBeenCalledWith(0));
  });

  it("ignores typing, Enter and Ctrl+D while an answer streams", async () => {
    const app = renderApp();
    await app.ask("q");
    const turn = await app.backend.turnAt(0);
    turn.delta("streaming");
    await app.see("streaming");
    app.stdin.write("typed-while-busy");
    app.stdin.write(KEYS.enter);
    app.stdin.write(KEYS.ctrlD);
    turn.finish();
    await app.see("ready");
    expect(app.frame()).not.toContain("typed-while-busy");
    expect(app.backend.turns).toHaveLength(1);
    expect(app.onExit).not.toHaveBeenCalled();
  });

  it("types at the cursor; Delete removes under it, Backspace (the DEL byte) before it", async () => {
    const app = renderApp();
    app.stdin.write("acd");
    await app.see("› acd");
    app.stdin.write(LEFT);
    app.stdin.write(LEFT);
    app.stdin.write("b");
    await app.see("› abcd");
    app.stdin.write(HOME);
    app.stdin.write(DELETE);
    await app.see("› bcd");
    app.stdin.write(END);
    app.stdin.write(KEYS.backspace);
    await app.see("› bc");
    await waitFor(() => expect(app.frame()).not.toContain("› bcd"));
    app.stdin.write(LEFT);
    app.stdin.write(KEYS.enter);
    expect((await app.backend.turnAt(0)).prompt).toBe("bc");
  });

  it("↑/↓ move between the lines of a multi-line question, then through the history", async () => {
    const app = renderApp(undefined, { inputHistory: new MemoryInputHistory(["older question"]) });
    app.stdin.write("l1");
    app.stdin.write("\n");
    app.stdin.write("l2");
    await app.see("l2");
    app.stdin.write(UP);
    app.stdin.write("X");
    await app.see("l1X");
    app.stdin.write(UP);
    await app.see("› older question");
    app.stdin.write(DOWN);
    await app.see("l1X");
    app.stdin.write(DOWN);
    app.stdin.write(DOWN);
    app.stdin.write("Y");
    await app.see("l2Y");
    app.stdin.write(KEYS.enter);
    expect((await app.backend.turnAt(0)).prompt).toBe("l1X\nl2Y");
  });

  it("a chunk of text and Enter (fast typing without bracketed paste) sends; a multi-line chunk does not", async () => {
    const app = renderApp();
    app.backend.reply("A1");
    app.stdin.write("hello\r");
    expect((await app.backend.turnAt(0)).prompt).toBe("hello");
    await app.see("A1", "ready");
    app.stdin.write("a\rb\r");
    await app.see("› a");
    expect(app.backend.turns).toHaveLength(1);
    app.stdin.write(KEYS.enter);
    expect((await app.backend.turnAt(1)).prompt).toContain("问：a\nb");
  });

  it("handles each control key of a chunk that holds several (tmux send-keys, a busy event loop)", async () => {
    const app = renderApp();
    app.stdin.write("hello world\u0001\u0005\u0017there");
    await app.see("› hello there");
    app.stdin.write("\u0001\u000b\u007fnew");
    await app.see("› new");
    await waitFor(() => expect(app.frame()).not.toContain("there"));
    app.stdin.write("\u0001\u0003");
    await waitFor(() => expect(app.frame()).not.toContain("› new"));
    expect(app.onExit).not.toHaveBeenCalled();
  });
});
