// The prompt's keys in the running app: editing, Ctrl+C/Ctrl+D at idle, input ignored while streaming.
import { cleanup } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait-for.ts";
import { KEYS, renderApp } from "./render-app.tsx";

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

  it("Ctrl+C clears a non-empty line, and exits on an empty one", async () => {
    const app = renderApp();
    app.stdin.write("draft");
    await app.see("› draft");
    app.stdin.write(KEYS.ctrlC);
    await waitFor(() => expect(app.frame()).not.toContain("draft"));
    expect(app.onExit).not.toHaveBeenCalled();
    app.stdin.write(KEYS.ctrlC);
    await waitFor(() => expect(app.onExit).toHaveBeenCalledWith(0));
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
});
