// An answer's Markdown as terminal text, wrapped by Ink at the terminal width.
import { memo, useMemo } from "react";
import { Box, Text } from "ink";
import { renderMarkdownBlocks } from "./markdown.ts";
import { useTheme } from "./theme.ts";
import { useTerminalSizeContext } from "./useTerminalSize.ts";

/**
 * One <Text> per Markdown block: while an answer streams only the last block changes, so React skips
 * the others and Ink measures and wraps them from its caches (both keyed by the text).
 */
export function Markdown({ text }: { text: string }) {
  const { colour } = useTheme();
  const { columns } = useTerminalSizeContext();
  const blocks = useMemo(() => renderMarkdownBlocks(text, columns, colour), [text, columns, colour]);
  if (blocks.length === 1) return <Text>{blocks[0]}</Text>;
  return (
    <Box flexDirection="column">
      {blocks.map((block, i) => (
        <RenderedBlock key={i} text={block} first={i === 0} />
      ))}
    </Box>
  );
}

const RenderedBlock = memo(function RenderedBlock({ text, first }: { text: string; first: boolean }) {
  return (
    <Box marginTop={first ? 0 : 1}>
      <Text>{text}</Text>
    </Box>
  );
});
