// Under the prompt while a "/" command is being typed: the commands it could become (Tab completes one).
import { memo } from "react";
import { Box, Text } from "ink";
import { completeCommand } from "../chat/commands.ts";

export const CommandHints = memo(function CommandHints({ line }: { line: string }) {
  const matches = completeCommand(line);
  if (matches.length === 0) return null;
  return (
    <Box flexDirection="column">
      {matches.map((c) => (
        <Text key={c.usage} dimColor wrap="truncate-end">
          {`  ${c.usage.padEnd(18)} ${c.summary}`}
        </Text>
      ))}
    </Box>
  );
});
