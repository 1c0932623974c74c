// Where a long streaming answer can be cut so its start goes to <Static>: blank lines outside code fences.
import stringWidth from "string-width";

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/**
 * Display widths of recent lines: a streaming answer is measured on every frame, and all its lines
 * but the last are the same as on the frame before (string-width is slow on CJK text).
 */
const lineWidths = new Map<string, number>();
const LINE_WIDTH_CACHE_LIMIT = 1000;

function lineWidth(line: string): number {
  let width = lineWidths.get(line);
  if (width === undefined) {
    width = stringWidth(line);
    if (lineWidths.size >= LINE_WIDTH_CACHE_LIMIT) lineWidths.delete(lineWidths.keys().next().value!);
    lineWidths.set(line, width);
  }
  return width;
}

/** Terminal rows `text` takes at `columns` (wide CJK and emoji count two columns). */
export function estimateRows(text: string, columns: number): number {
  let rows = 0;
  for (const line of text.split("\n")) rows += Math.max(1, Math.ceil(lineWidth(line) / Math.max(1, columns)));
  return rows;
}

export interface AnswerCut {
  /** Characters of the live text to commit. */
  at: number;
  /** Markdown that closes what the committed part left open (a code fence), appended to it. */
  close: string;
  /** Markdown that reopens it at the start of the rest (the fence line, with its language). */
  reopen: string;
}

/**
 * The last place before the end where `live` can be cut without breaking its Markdown: after a
 * blank line outside a code fence, or, in a fence with none, after a line, closing and reopening the
 * fence. Undefined when `live` still fits in `maxRows` or has no such place.
 */
export function findAnswerCut(live: string, maxRows: number, columns: number): AnswerCut | undefined {
  if (estimateRows(live, columns) <= maxRows) return undefined;
  let fence: { marker: string; line: string } | undefined;
  let offset = 0;
  let best: AnswerCut | undefined;
  let lineCut: AnswerCut | undefined;
  const lines = live.split("\n");
  // The last line may still be growing, so it never ends a cut.
  for (let i = 0; i < lines.length - 1; i++) {
    const line = lines[i]!;
    const end = offset + line.length + 1;
    const match = FENCE.exec(line);
    if (fence) {
      if (match && match[1]!.startsWith(fence.marker) && match[2]!.trim() === "") {
        fence = undefined;
        best = { at: end, close: "", reopen: "" };
      } else best = { at: end, close: `${fence.marker}\n`, reopen: `${fence.line}\n` };
    } else if (match) {
      fence = { marker: match[1]!, line };
    } else if (!startsBlock(lines[i + 1]!)) {
      // The next line continues this block (a numbered item, an indented line): no cut here.
    } else if (line.trim() === "") {
      if (i > 0) best = { at: end, close: "", reopen: "" };
    } else if (!(isTableRow(line) && isTableRow(lines[i + 1]!))) {
      lineCut = { at: end, close: "", reopen: "" };
    }
    offset = end;
  }
  // Without a blank line or a long fence, any line break outside a fence and a table will do.
  return best ?? lineCut;
}

/**
 * Whether Markdown can start afresh at `line` and render the same: not a numbered item (it would be
 * renumbered from 1) and not an indented continuation or a blank.
 */
function startsBlock(line: string): boolean {
  return line !== "" && !/^\s/.test(line) && !/^\d/.test(line);
}

/** `text` in blocks that render the same alone: cut at blank lines outside code fences. */
export function markdownBlocks(text: string): string[] {
  const blocks: string[] = [];
  let fence: string | undefined;
  let start = 0;
  let offset = 0;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length - 1; i++) {
    const line = lines[i]!;
    offset += line.length + 1;
    const match = FENCE.exec(line);
    if (fence) {
      if (match && match[1]!.startsWith(fence) && match[2]!.trim() === "") fence = undefined;
    } else if (match) {
      fence = match[1]!;
    } else if (line.trim() === "" && i > 0 && startsBlock(lines[i + 1]!) && offset > start) {
      blocks.push(text.slice(start, offset));
      start = offset;
    }
  }
  blocks.push(text.slice(start));
  return blocks;
}

function isTableRow(line: string): boolean {
  return line.trimStart().startsWith("|");
}
