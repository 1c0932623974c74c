// The decode rate of one answer from the engine's own counts and clock: tokens after the first over the time after it.

/**
 * Tokens per second after the first token (so the prompt's processing does not hide the generation speed), or
 * null when fewer than 2 tokens came. Counts tokens, not text: an answer that decodes to nothing still has a rate.
 */
export function decodeTokensPerSecond(completionTokens: number, firstTokenMs: number, totalMs: number): number | null {
  const decodeMs = totalMs - firstTokenMs;
  if (completionTokens < 2 || decodeMs <= 0) return null;
  return (completionTokens - 1) / (decodeMs / 1000);
}
