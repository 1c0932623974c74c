// <App> with a context window and session files: left-out rounds, ctx fill, /set, /save, /load, /sessions, /export.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup } from "ink-testing-library";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConversationFiles } from "../../src/chat/conversation-files.ts";
import { SessionStore } from "../../src/chat/session-store.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { renderApp } from "./render-app.tsx";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "glm-chat-app-"));
});
afterEach(() => {
  cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("App context window", () => {
  it("says how many rounds were left out and how full the context is", async () => {
    // The fake counts words + 2; window 40, answers reserve 20.
    const app = renderApp({ state: "ready", device: "CPU", engine: "fake 1.0", seqLength: 40 }, { session: { maxNewTokens: 20 } });
    app.backend.reply("a b c d").reply("e f g h").reply("ok");
    await app.ask("one two");
    await app.see("a b c d", "ctx ");
    await app.ask("three four");
    await app.see("e f g h");
    await app.ask("five");
    await app.see("1 earlier round left out of the context", "ok");
    const prompt = app.backend.turns[2]!.prompt;
    const used = (await app.backend.countTokens(prompt)) + 1; // the prompt as counted, + the one-token answer
    await app.see(`ctx ${used}/40`);
  });

  it("shows a clear error for a question that alone is too long", async () => {
    const app = renderApp({ state: "ready", seqLength: 20 }, { session: { maxNewTokens: 10 } });
    await app.ask("w w w w w w w w w w w w");
    await app.see("The question alone is 14 tokens; at most 10 fit", "CONTEXT_QUERY_TOO_LONG");
    expect(app.backend.turns).toHaveLength(0);
  });
});

describe("App /set", () => {
  it("lists the settings, changes one, and refuses a bad value", async () => {
    const app = renderApp();
    await app.ask("/set");
    await app.see("temperature 0.95", "top_p 0.7", "max_new_tokens 256", "seed random");
    await app.ask("/set top_p 0.8");
    await app.see("top_p 0.8 (from the next answer on)");
    await app.ask("/set top_k -3");
    await app.see("top_k must be a whole number, 0 = off", "SETTING_INVALID");
    app.backend.reply("x");
    await app.ask("hi");
    // Not see("x") alone: "max_new_tokens" on the screen already holds an x.
    await waitFor(() => expect(app.backend.turns).toHaveLength(1));
    expect(app.backend.turns[0]!.options.sampling).toEqual({ topP: 0.8 });
  });
});

describe("App sessions", () => {
  it("autosaves each turn, and /save, /sessions, /load, /export work on the files", async () => {
    const store = new SessionStore(join(dir, "sessions"));
    const files = new ConversationFiles(store, "first");
    const app = renderApp(undefined, { files });
    app.backend.reply("answer one");
    await app.ask("question one");
    await app.see("answer one");
    expect(store.load("first").rounds).toEqual([{ query: "question one", answer: "answer one" }]);

    await app.ask("/save second");
    await app.see('Saved as "second"');
    await app.ask("/clear");
    await app.see("Conversation cleared");
    await app.ask("/sessions");
    await app.see("first", "second", "1 round");
    await app.ask("/load first");
    await app.see('Loaded "first": 1 round');
    app.backend.reply("answer two");
    await app.ask("question two");
    await app.see("answer two");
    expect(app.backend.turns[1]!.prompt).toBe("[Round 0]\n问：question one\n答：answer one\n[Round 1]\n问：question two\n答：");
    expect(store.load("first").rounds).toHaveLength(2);
    expect(store.load("second").rounds).toHaveLength(1);

    const md = join(dir, "out.md");
    await app.ask(`/export ${md}`);
    await app.see("Exported 2 rounds");
    expect(readFileSync(md, "utf8")).toContain("> question two\n\nanswer two");
    await app.ask("/save first2 x");
    await app.see("SESSION_NAME_INVALID");
    await app.ask("/save second");
    await app.see("SESSION_EXISTS");
  });

  it("/save moves an autosaved, unnamed conversation; /load shows the loaded turns; /clear and /export say it right", async () => {
    const store = new SessionStore(join(dir, "sessions"));
    store.save("older", [{ query: "an older question", answer: "an older answer" }]);
    const files = new ConversationFiles(store);
    const auto = files.name;
    const app = renderApp(undefined, { files });
    app.backend.reply("answer one");
    await app.ask("question one");
    await app.see("answer one");
    expect(store.exists(auto)).toBe(true);
    await app.ask("/save kept");
    await app.see("replaces", `"${auto}", the name it had.`);
    expect(store.list().map((x) => x.name).sort()).toEqual(["kept", "older"]);
    await app.ask("/export " + join(dir, "one.md"));
    await app.see("Exported 1 round to");
    await app.ask("/clear");
    await app.see("the next question starts afresh, saved as", "from its");
    await app.ask("/load older");
    await app.see('Loaded "older": 1 round, shown below', "an older question", "an older answer");
  });

  it("shows start notes under the banner", async () => {
    const app = renderApp(undefined, { startNotes: ['Continuing session "work": 3 rounds.'] });
    await app.see("glm-chat · ChatGLM-6B", 'Continuing session "work": 3 rounds.');
  });
});
