// Table test of parseChatInput: bare words, slash commands, messages.
import { describe, expect, it } from "vitest";
import { parseChatInput, type ChatInput } from "../../src/chat/commands.ts";

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
