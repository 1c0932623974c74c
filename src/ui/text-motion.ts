// Where the prompt's cursor can go in its (multi-line) text: grapheme, word and line boundaries, as UTF-16 offsets.
import stringWidth from "string-width";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
// Word segments come from ICU, which splits Chinese into words too ("分布式训练" → 分布|式|训练).
const words = new Intl.Segmenter(undefined, { granularity: "word" });
const SPACE = /\s/;

/** The start of the character (grapheme: an emoji with its modifiers, a letter with its accents) before `at`. */
export function previousGrapheme(text: string, at: number): number {
  if (at <= 0) return 0;
  return graphemes.segment(text).containing(at - 1)!.index;
}

/** The end of the character that starts at `at`. */
export function nextGrapheme(text: string, at: number): number {
  if (at >= text.length) return text.length;
  const segment = graphemes.segment(text).containing(at)!;
  return segment.index + segment.segment.length;
}

/** Alt+←: the start of the word before `at` (or the one `at` is inside). */
export function previousWordStart(text: string, at: number): number {
  let start = 0;
  for (const segment of words.segment(text)) {
    if (segment.index >= at) break;
    if (segment.isWordLike) start = segment.index;
  }
  return start;
}

/** Alt+→: the end of the word after `at` (or the one `at` is inside). */
export function nextWordEnd(text: string, at: number): number {
  for (const segment of words.segment(text)) {
    const end = segment.index + segment.segment.length;
    if (segment.isWordLike && end > at) return end;
  }
  return text.length;
}

/** Ctrl+W: back over spaces, then back to the previous space (readline's unix-word-rubout). */
export function previousSpaceBoundary(text: string, at: number): number {
  let i = at;
  while (i > 0 && SPACE.test(text[i - 1]!)) i--;
  while (i > 0 && !SPACE.test(text[i - 1]!)) i--;
  return i;
}

export function lineStart(text: string, at: number): number {
  return at <= 0 ? 0 : text.lastIndexOf("\n", at - 1) + 1;
}

export function lineEnd(text: string, at: number): number {
  const end = text.indexOf("\n", at);
  return end === -1 ? text.length : end;
}

/**
 * ↑ (-1) or ↓ (+1): the offset in the line above or below at the same screen column (CJK and emoji
 * count two), or undefined on the first or last line (where ↑/↓ go through the history instead).
 */
export function verticalTarget(text: string, at: number, by: -1 | 1): number | undefined {
  const start = lineStart(text, at);
  const column = stringWidth(text.slice(start, at));
  if (by < 0) {
    if (start === 0) return undefined;
    return offsetAtColumn(text, lineStart(text, start - 1), start - 1, column);
  }
  const end = lineEnd(text, at);
  if (end === text.length) return undefined;
  return offsetAtColumn(text, end + 1, lineEnd(text, end + 1), column);
}

/** The offset in text[from, to) whose screen column is at most `column`, as far right as that allows. */
function offsetAtColumn(text: string, from: number, to: number, column: number): number {
  let width = 0;
  for (const { segment, index } of graphemes.segment(text.slice(from, to))) {
    width += stringWidth(segment);
    if (width > column) return from + index;
  }
  return to;
}
