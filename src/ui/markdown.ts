// Renders an answer's Markdown (code blocks, lists, tables) to terminal text with marked + marked-terminal.
import { stripVTControlCharacters } from "node:util";
import { Marked } from "marked";
import { markedTerminal } from "marked-terminal";
import { markdownBlocks } from "./answer-split.ts";

const renderers = new Map<string, Marked>();

function rendererFor(width: number): Marked {
  const key = String(width);
  let marked = renderers.get(key);
  if (!marked) {
    // Ink wraps each line at the terminal width (counting CJK and emoji as two columns), so
    // marked-terminal does not reflow; `width` only sizes rules and tables.
    marked = new Marked(markedTerminal({ width, reflowText: false, tab: 2, emoji: false, showSectionPrefix: true }) as never);
    renderers.set(key, marked);
  }
  return marked;
}

/** Rendered blocks by width, colour and text: a streaming answer re-renders only its last block. */
const blockCache = new Map<string, string>();
const BLOCK_CACHE_LIMIT = 500;

/**
 * `text` as styled terminal lines (plain when `color` is false: NO_COLOR), rendered block by block
 * (blocks end at blank lines outside code fences) so unchanged blocks come from a cache.
 */
export function renderMarkdown(text: string, width: number, color: boolean): string {
  return renderMarkdownBlocks(text, width, color).join("\n\n");
}

/**
 * The rendered blocks of `text`, empty ones left out; shown with a blank line between them they read
 * as renderMarkdown. A streaming answer changes only its last one, so the others stay the same strings.
 */
export function renderMarkdownBlocks(text: string, width: number, color: boolean): string[] {
  const parts: string[] = [];
  for (const block of markdownBlocks(text)) {
    const key = `${width}:${color ? 1 : 0}:${block}`;
    let out = blockCache.get(key);
    if (out === undefined) {
      out = renderMarkdownBlock(block, width, color);
      if (blockCache.size >= BLOCK_CACHE_LIMIT) blockCache.delete(blockCache.keys().next().value!);
      blockCache.set(key, out);
    }
    if (out !== "") parts.push(out);
  }
  return parts;
}

/** One block, rendered without a cache; no trailing blank lines. */
export function renderMarkdownBlock(text: string, width: number, color: boolean): string {
  let out: string;
  try {
    out = rendererFor(Math.max(20, width)).parse(text, { async: false });
  } catch {
    out = text;
  }
  out = out.replace(/\s+$/, "");
  return color ? out : stripVTControlCharacters(out);
}
