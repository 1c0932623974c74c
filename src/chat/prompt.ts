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
  let prompt = "";
  history.forEach((round, i) => {
    prompt += `[Round ${i}]\n问：${round.query}\n答：${round.answer}\n`;
  });
  return prompt + `[Round ${history.length}]\n问：${query}\n答：`;
}
