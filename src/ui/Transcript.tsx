// The finished part of the conversation, printed once through Ink's <Static> and never re-rendered.
import { memo } from "react";
import { Box, Static } from "ink";
import type { TranscriptEntry } from "./chat-view-state.ts";
import { TranscriptItemView } from "./TranscriptItemView.tsx";

/**
 * Memoized: the items change only when something joins the transcript. Each re-render of <Static>
 * marks Ink's static output dirty, and Ink then renders at once, skipping its 30 fps throttle: without
 * this, every streamed flush cost a full frame.
 */
export const Transcript = memo(function Transcript({ items }: { items: TranscriptEntry[] }) {
  return (
    <Static items={items}>
      {(item) => (
        <Box key={item.id}>
          <TranscriptItemView item={item} />
        </Box>
      )}
    </Static>
  );
});
