// The one-line prompt: "›", the text typed so far and a block cursor; dimmed while an answer streams.
import { Box, Text } from "ink";
import { useTheme } from "./theme.ts";

export function PromptInput({ line, busy }: { line: string; busy: boolean }) {
  const theme = useTheme();
  if (busy) {
    return (
      <Box>
        <Text dimColor>› {line}</Text>
      </Box>
    );
  }
  return (
    <Box>
      <Text color={theme.accent} bold>
        ›{" "}
      </Text>
      <Text>{line}</Text>
      <Text inverse> </Text>
    </Box>
  );
}
