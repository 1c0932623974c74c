// The prompt: "›", the text typed so far with the character under the cursor in inverse video; dimmed while an answer streams.
import { memo } from "react";
import { Box, Text } from "ink";
import { nextGrapheme } from "./text-motion.ts";
import type { PromptText } from "./line-editor.ts";
import { useTheme } from "./theme.ts";

/** Memoized: it re-renders on keys, not on each streamed token. */
export const PromptInput = memo(function PromptInput({ prompt, busy }: { prompt: PromptText; busy: boolean }) {
  const theme = useTheme();
  if (busy) {
    return (
      <Box>
        <Text dimColor>› {prompt.text}</Text>
      </Box>
    );
  }
  const { text, cursor } = prompt;
  const end = nextGrapheme(text, cursor);
  const under = text.slice(cursor, end);
  // At the end, or on a line break or tab, the cursor is an inverse space before it.
  const blank = under === "" || under === "\n" || under === "\t";
  return (
    <Box>
      <Text color={theme.accent} bold>
        ›{" "}
      </Text>
      <Text>
        {text.slice(0, cursor)}
        <Text inverse>{blank ? " " : under}</Text>
        {text.slice(blank ? cursor : end)}
      </Text>
    </Box>
  );
});
