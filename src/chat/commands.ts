// Turns one submitted input line into a chat action: a message, or a command such as /clear.

export type ChatInput =
  | { kind: "empty" }
  | { kind: "message"; text: string }
  | { kind: "clear" }
  | { kind: "exit" }
  | { kind: "help" }
  | { kind: "unknown-command"; name: string };

/** The commands, for /help. Bare `clear` and `stop` are the seed demo's words. */
export const CHAT_COMMANDS: readonly { usage: string; summary: string }[] = [
  { usage: "/clear, clear", summary: "forget the conversation so far" },
  { usage: "/exit, /quit, stop", summary: "quit" },
  { usage: "/help", summary: "show this help" },
];

export function parseChatInput(line: string): ChatInput {
  const text = line.trim();
  if (text === "") return { kind: "empty" };
  // Bare words count only when they are the whole line, so "clear the table" is a question.
  if (text === "clear") return { kind: "clear" };
  if (text === "stop") return { kind: "exit" };
  if (!text.startsWith("/")) return { kind: "message", text };

  // The command word runs up to the first whitespace; anything after it is ignored.
  const name = (text.split(/\s/, 1)[0] ?? text).toLowerCase();
  switch (name) {
    case "/clear":
      return { kind: "clear" };
    case "/exit":
    case "/quit":
      return { kind: "exit" };
    case "/help":
      return { kind: "help" };
    default:
      return { kind: "unknown-command", name };
  }
}
