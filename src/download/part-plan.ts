// Range arithmetic for parallel parts: the initial split, the contiguous frontier, and splitting a slow part's tail.

/** Bytes [start, start + done) of the half-open range [start, end) are on disk. */
export interface Part {
  start: number;
  end: number;
  done: number;
}

const MIB = 1024 * 1024;

/**
 * Part size: about 32 parts per connection, between 2 MiB and 64 MiB. Parts are handed out in file
 * order, so the bytes not yet hashed when the last byte lands are at most the parts in flight:
 * connections x part size, about 3 % of the file.
 */
export function choosePartSize(size: number, connections: number): number {
  const target = Math.ceil(size / Math.max(1, connections * 32));
  return Math.min(64 * MIB, Math.max(2 * MIB, target));
}

export function planParts(size: number, partSize: number): Part[] {
  const parts: Part[] = [];
  for (let start = 0; start < size; start += partSize) {
    parts.push({ start, end: Math.min(size, start + partSize), done: 0 });
  }
  if (parts.length === 0) parts.push({ start: 0, end: 0, done: 0 });
  return parts;
}

export function isPartComplete(part: Part): boolean {
  return part.start + part.done >= part.end;
}

export function bytesDone(parts: readonly Part[]): number {
  return parts.reduce((sum, p) => sum + p.done, 0);
}

/** The first byte not yet on disk when reading from 0: everything before it can be hashed. */
export function contiguousFrontier(parts: readonly Part[]): number {
  let frontier = 0;
  for (const part of parts) {
    if (part.start !== frontier) return frontier;
    frontier = part.start + part.done;
    if (!isPartComplete(part)) return frontier;
  }
  return frontier;
}

/** Parts must tile [0, size) in order, each with 0 <= done <= length; anything else is not resumable. */
export function partsAreValid(parts: readonly Part[], size: number): boolean {
  let expected = 0;
  for (const p of parts) {
    const ok = Number.isSafeInteger(p.start) && Number.isSafeInteger(p.end) && Number.isSafeInteger(p.done);
    if (!ok || p.start !== expected || p.end < p.start || p.done < 0 || p.done > p.end - p.start) return false;
    expected = p.end;
  }
  return expected === size;
}

/**
 * Splits the busy part with the most bytes left, so an idle connection can take its second half
 * (the slow-tail fix). Returns the new part, inserted after its parent, or undefined when no
 * part has at least 2 x minBytes left. `busy` holds the parts a connection is writing.
 */
export function splitLargestPart(parts: Part[], busy: ReadonlySet<Part>, minBytes: number): Part | undefined {
  let best: Part | undefined;
  let bestLeft = 2 * minBytes - 1;
  for (const p of parts) {
    const left = p.end - (p.start + p.done);
    if (busy.has(p) && left > bestLeft) {
      best = p;
      bestLeft = left;
    }
  }
  if (!best) return undefined;
  const cut = best.end - Math.floor(bestLeft / 2);
  const tail: Part = { start: cut, end: best.end, done: 0 };
  best.end = cut;
  parts.splice(parts.indexOf(best) + 1, 0, tail);
  return tail;
}
