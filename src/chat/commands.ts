// Turns one submitted input line into a chat action: a message, or a command such as /clear or /set.

export type ChatInput =
  | { kind: "empty" }
  | { kind: "message"; text: string }
  | { kind: "clear" }
  | { kind: "exit" }
  | { kind: "help" }
  | { kind: "set"; name: string | undefined; value: string | undefined }
  | { kind: "save"; name: string | undefined }
  | { kind: "load"; name: string }
  | { kind: "sessions" }
  | { kind: "export"; file: string }
  | { kind: "retry" }
  | { kind: "stats" }
  | { kind: "usage"; message: string }
  | { kind: "unknown-command"; name: string };

/** The commands, for /help. Bare `clear` and `stop` are the seed demo's words. */
export const CHAT_COMMANDS: readonly { usage: string; summary: string }[] = [
  { usage: "/clear, clear", summary: "forget the conversation so far (a new session file)" },
  { usage: "/set NAME VALUE", summary: "temperature, top_p, top_k, max_new_tokens, repetition_penalty, seed, greedy" },
  { usage: "/set", summary: "show the current settings" },
  { usage: "/save [NAME]", summary: "save the conversation as NAME (and keep saving there)" },
  { usage: "/load NAME", summary: "continue a saved conversation" },
  { usage: "/sessions", summary: "list saved conversations" },
  { usage: "/export FILE", summary: "write the conversation to FILE.md or FILE.json" },
  { usage: "/retry", summary: "answer the last question again (the old answer leaves the history)" },
  { usage: "/stats", summary: "the last answer's tokens, speed, first-token time and context use" },
  { usage: "/exit, /quit, stop", summary: "quit" },
  { usage: "/help", summary: "show this help" },
];

/** The slash words of the commands, e.g. "/set", in /help's order. */
export const COMMAND_NAMES: readonly string[] = CHAT_COMMANDS.flatMap((c) => c.usage.match(/\/[a-z]+/g) ?? []).filter(
  (name, i, all) => all.indexOf(name) === i,
);

/** The commands a typed "/pre" could become (none once a space follows the command word). */
export function completeCommand(line: string): { usage: string; summary: string }[] {
  if (!line.startsWith("/") || /\s/.test(line)) return [];
  const prefix = line.toLowerCase();
  return CHAT_COMMANDS.filter((c) => (c.usage.match(/\/[a-z]+/g) ?? []).some((name) => name.startsWith(prefix)));
}

/** Tab at the prompt: the one command name `line` is a prefix of, plus a space when it takes arguments. */
export function completeCommandName(line: string): string | undefined {
  if (!line.startsWith("/") || /\s/.test(line)) return undefined;
  const names = COMMAND_NAMES.filter((name) => name.startsWith(line.toLowerCase()));
  if (names.length !== 1) return undefined;
  const name = names[0]!;
  const takesArgs = CHAT_COMMANDS.some((c) => c.usage.startsWith(`${name} `) && /[A-Z[]/.test(c.usage.slice(name.length)));
  return takesArgs ? `${name} ` : name;
}

export function parseChatInput(line: string): ChatInput {
  const text = line.trim();
  if (text === "") return { kind: "empty" };
  // Bare words count only when they are the whole line, so "clear the table" is a question.
  if (text === "clear") return { kind: "clear" };
  if (text === "stop") return { kind: "exit" };
  if (!text.startsWith("/")) return { kind: "message", text };

  // The command word runs up to the first whitespace; the rest are its arguments.
  const name = (text.split(/\s/, 1)[0] ?? text).toLowerCase();
  const rest = text.slice(name.length).trim();
  const args = rest === "" ? [] : rest.split(/\s+/);
  switch (name) {
    case "/clear":
      return { kind: "clear" };
    case "/exit":
    case "/quit":
      return { kind: "exit" };
    case "/help":
      return { kind: "help" };
    case "/set":
      if (args.length === 1) return { kind: "usage", message: `Usage: /set ${args[0]} VALUE (or /set alone to list the settings)` };
      return { kind: "set", name: args[0]?.toLowerCase(), value: args.length ? args.slice(1).join(" ") : undefined };
    case "/save":
      return { kind: "save", name: rest || undefined };
    case "/load":
      return rest ? { kind: "load", name: rest } : { kind: "usage", message: "Usage: /load NAME (/sessions lists the names)" };
    case "/sessions":
      return { kind: "sessions" };
    case "/retry":
      return { kind: "retry" };
    case "/stats":
      return { kind: "stats" };
    case "/export":
      return rest ? { kind: "export", file: rest } : { kind: "usage", message: "Usage: /export FILE.md or /export FILE.json" };
    default:
      return { kind: "unknown-command", name };
  }
}
