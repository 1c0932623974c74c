// The finished part of the conversation, printed once through Ink's <Static> and never re-rendered.
import { Box, Static } from "ink";
import type { TranscriptEntry } from "./chat-view-state.ts";
import { TranscriptItemView } from "./TranscriptItemView.tsx";

export function Transcript({ items }: { items: TranscriptEntry[] }) {
  return (
    <Static items={items}>
      {(item) => (
        <Box key={item.id}>
          <TranscriptItemView item={item} />
        </Box>
      )}
    </Static>
  );
}
