// Table test of parseChatInput: bare words, slash commands, messages.
import { describe, expect, it } from "vitest";
import { completeCommand, completeCommandName, parseChatInput, type ChatInput } from "../../src/chat/commands.ts";

const cases: [string, ChatInput][] = [
  ["", { kind: "empty" }],
  ["   \t ", { kind: "empty" }],
  ["clear", { kind: "clear" }],
  ["  clear  ", { kind: "clear" }],
  ["/clear", { kind: "clear" }],
  ["/CLEAR", { kind: "clear" }],
  ["stop", { kind: "exit" }],
  ["/exit", { kind: "exit" }],
  ["/quit", { kind: "exit" }],
  ["/help", { kind: "help" }],
  ["/help me", { kind: "help" }],
  ["/foo", { kind: "unknown-command", name: "/foo" }],
  ["/foo bar", { kind: "unknown-command", name: "/foo" }],
  ["/", { kind: "unknown-command", name: "/" }],
  ["/set", { kind: "set", name: undefined, value: undefined }],
  ["/set top_p 0.8", { kind: "set", name: "top_p", value: "0.8" }],
  ["/SET  Temperature   0.5 ", { kind: "set", name: "temperature", value: "0.5" }],
  ["/set seed", { kind: "usage", message: "Usage: /set seed VALUE (or /set alone to list the settings)" }],
  ["/save", { kind: "save", name: undefined }],
  ["/save my chat", { kind: "save", name: "my chat" }],
  ["/load work", { kind: "load", name: "work" }],
  ["/load", { kind: "usage", message: "Usage: /load NAME (/sessions lists the names)" }],
  ["/sessions", { kind: "sessions" }],
  ["/retry", { kind: "retry" }],
  ["/stats", { kind: "stats" }],
  ["/export out.md", { kind: "export", file: "out.md" }],
  ["/export", { kind: "usage", message: "Usage: /export FILE.md or /export FILE.json" }],
  ["Clear", { kind: "message", text: "Clear" }],
  ["clear the table", { kind: "message", text: "clear the table" }],
  ["stop it", { kind: "message", text: "stop it" }],
  ["exit", { kind: "message", text: "exit" }],
  ["constructor", { kind: "message", text: "constructor" }],
  ["  你好  ", { kind: "message", text: "你好" }],
  ["a\tb  c", { kind: "message", text: "a\tb  c" }],
];

describe("parseChatInput", () => {
  it.each(cases)("%j", (line, expected) => {
    expect(parseChatInput(line)).toEqual(expected);
  });
});

describe("command completion", () => {
  it("lists the commands a / prefix could become, none after a space", () => {
    expect(completeCommand("/").length).toBeGreaterThanOrEqual(10);
    expect(completeCommand("/s").map((c) => c.usage)).toEqual(["/set NAME VALUE", "/set", "/save [NAME]", "/sessions", "/stats"]);
    expect(completeCommand("/QU").map((c) => c.usage)).toEqual(["/exit, /quit, stop"]);
    expect(completeCommand("/set x")).toEqual([]);
    expect(completeCommand("hello")).toEqual([]);
  });

  it("Tab completes a unique name, with a space when it takes arguments", () => {
    expect(completeCommandName("/re")).toBe("/retry");
    expect(completeCommandName("/lo")).toBe("/load ");
    expect(completeCommandName("/se")).toBeUndefined();
    expect(completeCommandName("/sa")).toBe("/save ");
    expect(completeCommandName("/x")).toBeUndefined();
  });
});
