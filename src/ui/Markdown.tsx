// An answer's Markdown as terminal text, wrapped by Ink at the terminal width.
import { useMemo } from "react";
import { Text } from "ink";
import { renderMarkdown } from "./markdown.ts";
import { useTheme } from "./theme.ts";
import { useTerminalSizeContext } from "./useTerminalSize.ts";

export function Markdown({ text }: { text: string }) {
  const { colour } = useTheme();
  const { columns } = useTerminalSizeContext();
  const rendered = useMemo(() => renderMarkdown(text, columns, colour), [text, columns, colour]);
  return <Text>{rendered}</Text>;
}
