// Session files: round trip, atomic autosave surviving kill -9, corrupted or foreign files set aside.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { conversationMarkdown, exportConversation } from "../../src/chat/session-export.ts";
import { SessionStore, timestampSessionName } from "../../src/chat/session-store.ts";

let dir: string;
let store: SessionStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "glm-chat-sessions-"));
  store = new SessionStore(join(dir, "sessions"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rounds = [
  { query: "你好", answer: "你好👋！我是人工智能助手 ChatGLM-6B。" },
  { query: "多行\n\t问题  ", answer: "", interrupted: true },
];

describe("SessionStore", () => {
  it("round-trips a conversation with a format and version field", () => {
    store.save("work", rounds);
    const loaded = store.load("work");
    expect(loaded).toMatchObject({ format: "glm-chat-session", version: 1, name: "work", rounds });
    expect(JSON.parse(readFileSync(store.pathOf("work"), "utf8"))).toMatchObject({ format: "glm-chat-session", version: 1 });
    expect(store.list()).toEqual([{ name: "work", rounds: 2, updatedAt: loaded.updated_at }]);
  });

  it("keeps the creation time across saves", () => {
    const first = store.save("s", rounds.slice(0, 1), "2026-01-01T00:00:00.000Z");
    const second = store.save("s", rounds, first.created_at);
    expect(store.load("s").created_at).toBe("2026-01-01T00:00:00.000Z");
    expect(second.rounds).toHaveLength(2);
  });

  it("says which session is missing", () => {
    expect(() => store.load("nope")).toThrow(expect.objectContaining({ code: "SESSION_NOT_FOUND" }));
  });

  it.each(["../evil", "a/b", "", ".hidden", "x".repeat(65), "with space", "x.json"])("refuses the name %j", (name) => {
    expect(() => store.save(name, rounds)).toThrow(expect.objectContaining({ code: "SESSION_NAME_INVALID" }));
  });

  it.each([
    ["not JSON", "{\"format\": \"glm-chat-sess"],
    ["a foreign JSON file", JSON.stringify({ messages: [{ role: "user", content: "hi" }] })],
    ["a future version", JSON.stringify({ format: "glm-chat-session", version: 2, name: "s", created_at: "", updated_at: "", rounds: [] })],
    ["a bad round", JSON.stringify({ format: "glm-chat-session", version: 1, name: "s", created_at: "", updated_at: "", rounds: [{ query: 1 }] })],
  ])("refuses %s, sets it aside, and overwrites nothing", (_what, text) => {
    const path = store.save("s", []) && store.pathOf("s");
    writeFileSync(path, text);
    let error: unknown;
    try {
      store.load("s");
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: "SESSION_CORRUPT", message: expect.stringMatching(/Session "s" is unreadable: .*moved aside to .*s\.json\.corrupt-/) });
    const movedTo = (error as { movedTo: string }).movedTo;
    expect(readFileSync(movedTo, "utf8")).toBe(text);
    store.save("s", rounds); // a new save under the name leaves the set-aside file alone
    expect(readFileSync(movedTo, "utf8")).toBe(text);
    expect(store.load("s").rounds).toEqual(rounds);
  });

  it("lists an unreadable file without touching it, newest first otherwise", () => {
    store.save("old", rounds);
    store.save("new", rounds.slice(0, 1));
    writeFileSync(join(store.dir, "broken.json"), "{");
    const names = store.list().map((s) => [s.name, s.rounds]);
    expect(names).toEqual([["new", 1], ["old", 2], ["broken", undefined]]);
    expect(readFileSync(join(store.dir, "broken.json"), "utf8")).toBe("{");
  });

  it("loads the last good file when a write died half-way (temp file left behind)", () => {
    store.save("s", rounds);
    writeFileSync(join(store.dir, ".s.json.tmp-999-abcdef"), "{\"format\": \"glm-chat-session\", \"vers");
    expect(store.load("s").rounds).toEqual(rounds);
    expect(store.list().map((s) => s.name)).toEqual(["s"]);
  });

  it("survives kill -9 of a process in the middle of autosaving", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const child = execa(process.execPath, ["--import", "tsx", join(import.meta.dirname, "fixtures", "autosave-forever.ts"), store.dir, "s"], { reject: false });
      await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 50 + attempt * 70));
      child.kill("SIGKILL");
      const result = await child;
      expect(result.signal).toBe("SIGKILL");
      const loaded = store.load("s");
      expect(loaded.rounds.length).toBeGreaterThan(0);
      expect(loaded.rounds.at(-1)!.query).toBe(`question ${loaded.rounds.length - 1}`);
    }
    expect(readdirSync(store.dir).filter((f) => f.endsWith(".json"))).toEqual(["s.json"]);
  }, 30_000);

  it("names an unnamed conversation after its start time", () => {
    expect(timestampSessionName(new Date("2026-11-27T21:30:05.123Z"))).toBe("2026-11-27_21-30-05");
  });
});

describe("exportConversation", () => {
  it("writes Markdown", () => {
    const file = join(dir, "chat.md");
    exportConversation(file, "work", rounds);
    expect(readFileSync(file, "utf8")).toBe(conversationMarkdown("work", rounds));
    expect(readFileSync(file, "utf8")).toBe("# work\n\n## 1\n\n> 你好\n\n你好👋！我是人工智能助手 ChatGLM-6B。\n\n## 2\n\n> 多行\n> \t问题  \n\n\n\n_(answer cut short)_\n");
  });

  it("writes JSON that loads as a session", () => {
    const file = join(dir, "chat.json");
    exportConversation(file, "work", rounds);
    mkdirSync(store.dir, { recursive: true });
    writeFileSync(join(store.dir, "imported.json"), readFileSync(file));
    expect(store.load("imported").rounds).toEqual(rounds);
  });

  it("refuses other extensions", () => {
    expect(() => exportConversation(join(dir, "chat.txt"), "w", rounds)).toThrow(expect.objectContaining({ code: "EXPORT_FORMAT_UNKNOWN" }));
  });
});
