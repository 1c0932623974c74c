// Builds the prompt ChatGLM-6B's own chat() builds: the bare query first, then "[Round i]" blocks.

/** One finished question and answer. `interrupted` marks an answer cut short (stopped or failed). */
export interface ChatRound {
  query: string;
  answer: string;
  interrupted?: boolean;
}

/**
 * The prompt for `query` after `history`, byte for byte as ChatGLM-6B's `chat()` makes it:
 * with no history the query alone; otherwise `[Round i]\n问：q\n答：r\n` per past round (0-based)
 * and `[Round n]\n问：query\n答：`. Text is kept verbatim (no trimming, no escaping).
 */
export function buildChatGlmPrompt(history: readonly ChatRound[], query: string): string {
  if (history.length === 0) return query;
  return history.map((round, i) => formatChatGlmRound(i, round)).join("") + formatChatGlmQuery(history.length, query);
}

/** One past round's block: `[Round i]\n问：q\n答：r\n`. */
export function formatChatGlmRound(index: number, round: ChatRound): string {
  return `[Round ${index}]\n问：${round.query}\n答：${round.answer}\n`;
}

/** The open block the answer continues: `[Round n]\n问：query\n答：`. */
export function formatChatGlmQuery(index: number, query: string): string {
  return `[Round ${index}]\n问：${query}\n答：`;
}
