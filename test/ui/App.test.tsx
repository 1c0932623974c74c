// <App> end to end over a fake backend: streaming, Ctrl+C, errors, crash panel, commands, keys.
import { cleanup } from "ink-testing-library";
import { afterEach, describe, expect, it } from "vitest";
import { codedError } from "../fakes/fake-backend.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { KEYS, renderApp } from "./render-app.tsx";

afterEach(() => cleanup());

describe("App", () => {
  it("streams an answer, then shows it with the speed in the status line", async () => {
    const app = renderApp();
    await app.see("glm-chat · ChatGLM-6B", "ready", "CPU", "fake 1.0");
    await app.ask("你好");
    const turn = await app.backend.turnAt(0);
    expect(turn.prompt).toBe("你好");
    turn.delta("你好", "👋！");
    await app.see("› 你好", "你好👋！", "generating");
    turn.delta("我是 ChatGLM-6B。").finish();
    await app.see("你好👋！我是 ChatGLM-6B。", "ready", "20.0 tok/s", "first token 120 ms");
    expect(app.session.history).toEqual([{ query: "你好", answer: "你好👋！我是 ChatGLM-6B。" }]);
  });

  it("Ctrl+C mid-answer stops it, keeps the partial text and keeps running", async () => {
    const app = renderApp();
    await app.ask("写一首诗");
    const turn = await app.backend.turnAt(0);
    turn.delta("床前明月光");
    await app.see("床前明月光");
    app.stdin.write(KEYS.ctrlC);
    await app.see("床前明月光", "(stopped)", "ready");
    expect(turn.options.signal?.aborted).toBe(true);
    expect(app.onExit).not.toHaveBeenCalled();

    await app.ask("继续");
    const next = await app.backend.turnAt(1);
    expect(next.prompt).toBe("[Round 0]\n问：写一首诗\n答：床前明月光\n[Round 1]\n问：继续\n答：");
  });

  it("a second Ctrl+C quits when the answer ignores the first", async () => {
    const app = renderApp();
    await app.ask("q");
    const turn = await app.backend.turnAt(0);
    turn.ignoreAbort = true;
    turn.delta("still going");
    await app.see("still going");
    app.stdin.write(KEYS.ctrlC);
    await app.see("stopping… Ctrl+C again quits");
    expect(turn.options.signal?.aborted).toBe(true);
    expect(app.onExit).not.toHaveBeenCalled();
    app.stdin.write(KEYS.ctrlC);
    await waitFor(() => expect(app.onExit).toHaveBeenCalledWith(130));
  });

  it("shows a backend error in the transcript and stays usable", async () => {
    const app = renderApp();
    await app.ask("q1");
    const turn = await app.backend.turnAt(0);
    turn.delta("half an ans").fail(codedError("SIDECAR_EXITED", "The engine exited with code 1."));
    await app.see("half an ans", "(incomplete)", "✗ The engine exited with code 1.", "[SIDECAR_EXITED]");
    await app.ask("q2");
    await app.backend.turnAt(1);
  });

  it("shows the crash panel with the last stderr lines and the log path", async () => {
    const app = renderApp();
    const stderrTail = Array.from({ length: 12 }, (_, i) => `stderr line ${i + 1}`);
    app.backend.setStatus({ state: "crashed", detail: "exit code 137", stderrTail, logPath: "/tmp/glm.log" });
    await app.see("The engine crashed: exit code 137", "stderr line 3", "stderr line 12", "/tmp/glm.log");
    await app.see("Your next question restarts the engine.", "engine crashed");
    expect(app.frame()).not.toMatch(/stderr line [12]\b/);
    app.backend.setStatus({ state: "starting" });
    await waitFor(() => expect(app.frame()).not.toContain("The engine crashed"));
  });

  it("says a corrupt checkpoint is not a crash to retry: the cause, then what to do", async () => {
    const app = renderApp();
    const detail = "CheckpointInvalid: /m/glm_6b.ckpt is not a readable MindSpore checkpoint (cut short); run glm-chat pull again";
    app.backend.setStatus({ state: "crashed", detail, restartable: false });
    await app.see("The model could not be loaded: CheckpointInvalid", "run glm-chat pull again", "fail the same way", "model not loaded");
    expect(app.frame()).not.toContain("restarts the engine");
    expect(app.frame()).not.toContain("engine crashed");
  });

  it("clear forgets the conversation", async () => {
    const app = renderApp();
    app.backend.reply("A1").reply("A2");
    await app.ask("Q1");
    await app.see("A1", "ready");
    await app.ask("clear");
    await app.see("› clear", "Conversation cleared");
    expect(app.session.history).toEqual([]);
    await app.ask("Q2");
    await app.see("A2");
    expect(app.backend.turns[1]?.prompt).toBe("Q2");
  });

  it("/help lists commands and keys; an unknown command is an error line", async () => {
    const app = renderApp();
    await app.ask("/help");
    await app.see("Commands", "/clear, clear", "/exit, /quit, stop", "Keys", "Ctrl+U");
    await app.ask("/nope");
    await app.see("✗ Unknown command /nope. Type /help for the list.");
    expect(app.backend.turns).toHaveLength(0);
  });

  it("stop and /exit quit", async () => {
    const app = renderApp();
    await app.ask("stop");
    await waitFor(() => expect(app.onExit).toHaveBeenCalledWith(0));
    const other = renderApp();
    // As the CLI does: unmount as soon as the app asks to exit; the last frame must not keep /exit's hint.
    other.onExit.mockImplementation(() => other.unmount());
    await other.ask("/exit");
    await waitFor(() => expect(other.onExit).toHaveBeenCalledWith(0));
    expect(other.frame()).not.toContain("/exit");
    expect(other.frame()).not.toMatch(/\/quit/);
  });
});
