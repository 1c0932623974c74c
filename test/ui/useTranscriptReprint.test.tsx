// Narrowing a real terminal: once the width settles, the terminal is cleared and the transcript printed again.
import { cleanup } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/wait-for.ts";
import { renderApp } from "./render-app.tsx";

afterEach(() => cleanup());

const CLEAR_TERMINAL = "\u001b[2J\u001b[3J\u001b[H";

function resize(app: ReturnType<typeof renderApp>, columns: number): void {
  Object.defineProperty(app.stdout, "columns", { value: columns, configurable: true });
  app.stdout.emit("resize");
}

describe("transcript reprint on resize", () => {
  it("clears once after a narrowing settles and prints the transcript again; widening does nothing", async () => {
    const app = renderApp();
    Object.defineProperty(app.stdout, "isTTY", { value: true, configurable: true });
    app.backend.reply("the answer");
    await app.ask("question");
    await app.see("the answer", "ready");
    const writes = () => app.frames.join("");
    const count = (text: string) => writes().split(text).length - 1;
    const answers = count("the answer");

    resize(app, 60);
    resize(app, 50);
    resize(app, 40);
    await waitFor(() => expect(count(CLEAR_TERMINAL)).toBe(1));
    // Printed again after the clear: the banner, the question and its answer.
    await waitFor(() => {
      const after = writes().slice(writes().lastIndexOf(CLEAR_TERMINAL));
      expect(after).toContain("glm-chat · ChatGLM-6B");
      expect(after).toContain("› question");
      expect(after).toContain("the answer");
    });
    expect(count("the answer")).toBeGreaterThan(answers);

    resize(app, 100);
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing must happen: no event to wait for
    expect(count(CLEAR_TERMINAL)).toBe(1);
  });

  it("does nothing when the output is not a terminal", async () => {
    const app = renderApp();
    await app.see("ready");
    resize(app, 40);
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing must happen: no event to wait for
    expect(app.frames.join("")).not.toContain(CLEAR_TERMINAL);
  });
});
