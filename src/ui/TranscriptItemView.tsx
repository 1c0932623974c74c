// Renders one finished transcript item: the banner, a question, an answer, a note, an error, the help.
import { Box, Text } from "ink";
import { CHAT_COMMANDS } from "../chat/commands.ts";
import { checkExhaustive } from "./check-exhaustive.ts";
import type { AnswerEnd, TranscriptItem } from "./chat-view-state.ts";
import { Markdown } from "./Markdown.tsx";
import { useTheme } from "./theme.ts";

const END_MARKS: Record<AnswerEnd, string | undefined> = {
  complete: undefined,
  length: "(cut off: token limit reached)",
  stopped: "(stopped)",
  failed: "(incomplete)",
};

const KEYS: readonly { usage: string; summary: string }[] = [
  { usage: "Enter", summary: "send the question" },
  { usage: "Ctrl+J, Alt+Enter", summary: "new line in the question (Shift+Enter where the terminal tells it apart)" },
  { usage: "↑ / ↓", summary: "the line above / below in the question, then earlier questions (kept across runs)" },
  { usage: "← / →, Ctrl+B / F", summary: "move the cursor; with Alt or Ctrl (or Alt+B / F): by word" },
  { usage: "Home / End, Ctrl+A / E", summary: "start / end of the line" },
  { usage: "Backspace / Delete", summary: "remove before / under the cursor; with Alt: a word" },
  { usage: "Ctrl+U / Ctrl+K", summary: "remove to the start / end of the line" },
  { usage: "Ctrl+W", summary: "remove the word before the cursor" },
  { usage: "Tab", summary: "complete a /command" },
  { usage: "Ctrl+C", summary: "stop the answer; clear the line; twice on an empty line: quit" },
  { usage: "Ctrl+D", summary: "quit on an empty line (else remove under the cursor)" },
  { usage: "Ctrl+L", summary: "clear the screen (the conversation stays)" },
];

function HelpList({ title, rows }: { title: string; rows: readonly { usage: string; summary: string }[] }) {
  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      {rows.map((row) => (
        <Text key={row.usage}>
          {"  "}
          {row.usage.padEnd(24)}
          <Text dimColor>{row.summary}</Text>
        </Text>
      ))}
    </Box>
  );
}

export function TranscriptItemView({ item }: { item: TranscriptItem }) {
  const theme = useTheme();
  switch (item.kind) {
    case "banner":
      return (
        <Box flexDirection="column">
          <Text bold color={theme.accent}>
            glm-chat{item.modelLabel ? ` · ${item.modelLabel}` : ""}
          </Text>
          <Text dimColor>Ask a question and press Enter. /help lists commands; Ctrl+C stops an answer.</Text>
        </Box>
      );
    case "user":
      return (
        <Box marginTop={1}>
          <Text color={theme.accent} bold>
            ›{" "}
          </Text>
          <Text bold>{item.text}</Text>
        </Box>
      );
    case "answer": {
      const mark = END_MARKS[item.end];
      return (
        <Box flexDirection="column">
          {item.text !== "" && <Markdown text={item.text} />}
          {mark !== undefined && <Text dimColor>{mark}</Text>}
        </Box>
      );
    }
    case "answer-part":
      // A part cut at a paragraph break keeps the blank line before the next part.
      return (
        <Box marginBottom={item.text.endsWith("\n\n") ? 1 : 0}>
          <Markdown text={item.text} />
        </Box>
      );
    case "note":
      return <Text dimColor>{item.text}</Text>;
    case "error":
      return (
        <Text color={theme.error}>
          ✗ {item.message}
          {item.code !== undefined && <Text dimColor> [{item.code}]</Text>}
        </Text>
      );
    case "help":
      return (
        <Box flexDirection="column">
          <HelpList title="Commands" rows={CHAT_COMMANDS} />
          <HelpList title="Keys" rows={KEYS} />
        </Box>
      );
    default:
      return checkExhaustive(item);
  }
}
