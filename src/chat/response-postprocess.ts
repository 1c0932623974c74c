// ChatGLM-6B's process_response (strip, [[训练时间]], full-width punctuation next to CJK), whole or on streamed deltas.

/** The characters Python's str.strip() removes (str.isspace), which differ from JS's \s. */
const PY_WHITESPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const LEADING_WS = new RegExp(`^[${PY_WHITESPACE}]+`);
const TRAILING_WS = new RegExp(`[${PY_WHITESPACE}]+$`);
const TRAINING_TIME = "[[训练时间]]";
const FULL_WIDTH: Record<string, string> = { ",": "，", "!": "！", ":": "：", ";": "；", "?": "？" };
/** An ASCII , ! : ; ? directly before or after a CJK Unified Ideograph (U+4E00–U+9FFF). */
const PUNCT_NEXT_TO_CJK = /(?<=[\u4e00-\u9fff])[,!:;?]|[,!:;?](?=[\u4e00-\u9fff])/g;

/** Marker replacement and punctuation, without the strip: the part that is local to each character. */
function replaceAndWiden(text: string): string {
  return text.replaceAll(TRAINING_TIME, "2023年").replace(PUNCT_NEXT_TO_CJK, (p) => FULL_WIDTH[p] ?? p);
}

/** The whole answer, exactly as MindFormers' / THUDM's process_response makes it. */
export function processResponse(text: string): string {
  return replaceAndWiden(text.replace(LEADING_WS, "").replace(TRAILING_WS, ""));
}

/** How many characters at the end of `text` the next delta could still change. */
function undecidedTail(text: string): number {
  const last = text.at(-1);
  if (last === undefined) return 0;
  const trailingWs = TRAILING_WS.exec(text)?.[0].length ?? 0;
  if (trailingWs > 0) return trailingWs; // strip removes it if nothing follows
  if (last in FULL_WIDTH) return /[\u4e00-\u9fff]/.test(text.at(-2) ?? "") ? 0 : 1; // a CJK character next would widen it
  const code = last.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdbff) return 1; // half of a surrogate pair
  for (let n = Math.min(TRAINING_TIME.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(TRAINING_TIME.slice(0, n))) return n; // may yet become [[训练时间]]
  }
  return 0;
}

/**
 * Applies processResponse to an answer as it streams: `push` returns only text that no later delta
 * can change, `finish` the rest. Concatenated, the pieces equal processResponse(whole answer).
 */
export class StreamingResponseProcessor {
  #raw = "";
  #shown = 0;

  /** Everything pushed so far, unprocessed. */
  get raw(): string {
    return this.#raw;
  }

  push(delta: string): string {
    this.#raw += delta;
    const text = this.#raw.replace(LEADING_WS, "");
    return this.#emit(replaceAndWiden(text.slice(0, text.length - undecidedTail(text))));
  }

  finish(): string {
    return this.#emit(processResponse(this.#raw));
  }

  #emit(processed: string): string {
    const piece = processed.slice(this.#shown);
    this.#shown = Math.max(this.#shown, processed.length);
    return piece;
  }
}
