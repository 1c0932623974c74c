// The chat screen's state as a pure reducer: the finished transcript and the one in-flight answer.
import type { ContextInfo, TurnEvent } from "../chat/chat-session.ts";
import type { ChatRound } from "../chat/prompt.ts";
import { findAnswerCut } from "./answer-split.ts";
import { checkExhaustive } from "./check-exhaustive.ts";

type TurnDone = Extract<TurnEvent, { type: "done" }>;

/** How an answer ended: in full, at the token limit, stopped by the user, or cut by an error. */
export type AnswerEnd = "complete" | "length" | "stopped" | "failed";

/** One finished line or block of the transcript; rendered once, in Ink's <Static>. */
export type TranscriptItem =
  | { kind: "banner"; modelLabel: string | undefined }
  | { kind: "user"; text: string }
  | { kind: "answer"; text: string; end: AnswerEnd }
  /** The start of a long answer, moved out of the live region while the rest streams. */
  | { kind: "answer-part"; text: string }
  | { kind: "note"; text: string }
  | { kind: "error"; message: string; code: string | undefined }
  | { kind: "help" };

export type TranscriptEntry = TranscriptItem & { id: number };

/** Speed figures of the latest answer, for the status line. */
export type TurnStats = Pick<TurnDone, "reason" | "usage" | "timings">;

export interface PendingAnswerState {
  /** The whole answer so far. */
  text: string;
  /** Ctrl+C was pressed and the answer has not ended yet. */
  stopping: boolean;
  /** Characters of `text` already committed to the transcript as answer parts. */
  committed: number;
  /** Markdown that reopens a code fence a committed part closed. */
  reopen: string;
}

/** The part of the pending answer still shown live (below the transcript). */
export function liveText(pending: PendingAnswerState): string {
  return pending.reopen + pending.text.slice(pending.committed);
}

/** The live region's room: answers taller than `rows` at `columns` get their start committed. */
export interface LiveFit {
  rows: number;
  columns: number;
}

/** How full the model's window is: tokens of the latest prompt + answer, of seq_length. */
export interface ContextFill {
  used: number;
  size: number;
}

export interface ChatViewState {
  items: TranscriptEntry[];
  /** The answer being streamed, if any; `text` is updated at most every few tens of ms. */
  pending: PendingAnswerState | undefined;
  /** Of the latest turn; undefined when it failed. */
  lastStats: TurnStats | undefined;
  /** Of the latest turn, when the backend reports its window. */
  context: ContextFill | undefined;
}

export type ChatViewAction =
  | { type: "append"; items: TranscriptItem[] }
  | { type: "turn-started"; query: string }
  | { type: "turn-text"; text: string; fit?: LiveFit }
  | { type: "turn-context"; info: ContextInfo }
  | { type: "turn-stopping" }
  | {
      type: "turn-ended";
      text: string;
      end: AnswerEnd;
      stats?: TurnStats;
      error?: { message: string; code: string | undefined };
    };

export function initialChatViewState(modelLabel?: string): ChatViewState {
  return { items: [{ id: 0, kind: "banner", modelLabel }], pending: undefined, lastStats: undefined, context: undefined };
}

function withItems(state: ChatViewState, ...items: TranscriptItem[]): TranscriptEntry[] {
  const lastId = state.items.at(-1)?.id ?? -1;
  return [...state.items, ...items.map((item, i) => ({ ...item, id: lastId + 1 + i }))];
}

/** New text for the pending answer; when the live part outgrows `fit`, its start joins the transcript. */
function withText(state: ChatViewState, pending: PendingAnswerState, text: string, fit: LiveFit | undefined): ChatViewState {
  const next = { ...pending, text };
  if (!fit) return { ...state, pending: next };
  const live = liveText(next);
  const cut = findAnswerCut(live, fit.rows, fit.columns);
  if (!cut) return { ...state, pending: next };
  const part: TranscriptItem = { kind: "answer-part", text: live.slice(0, cut.at) + cut.close };
  const committed = next.committed + cut.at - next.reopen.length;
  return { ...state, items: withItems(state, part), pending: { ...next, committed, reopen: cut.reopen } };
}

export function chatViewReducer(state: ChatViewState, action: ChatViewAction): ChatViewState {
  switch (action.type) {
    case "append":
      return { ...state, items: withItems(state, ...action.items) };
    case "turn-started":
      return { ...state, items: withItems(state, { kind: "user", text: action.query }), pending: { text: "", stopping: false, committed: 0, reopen: "" }, context: undefined };
    case "turn-text":
      return state.pending ? withText(state, state.pending, action.text, action.fit) : state;
    case "turn-context": {
      const { droppedRounds, queryTruncated, promptTokens, seqLength } = action.info;
      const notes: TranscriptItem[] = [];
      if (queryTruncated) {
        notes.push({ kind: "note", text: `Your question is ${queryTruncated.originalTokens} tokens; only its first ${queryTruncated.keptTokens} were sent (--truncate-long-query).` });
      } else if (droppedRounds > 0) {
        notes.push({ kind: "note", text: `${droppedRounds} earlier ${droppedRounds === 1 ? "round" : "rounds"} left out of the context` });
      }
      return { ...state, items: withItems(state, ...notes), context: { used: promptTokens, size: seqLength } };
    }
    case "turn-stopping":
      return state.pending ? { ...state, pending: { ...state.pending, stopping: true } } : state;
    case "turn-ended": {
      const items: TranscriptItem[] = [];
      // A failed turn with no text shows only its error; a stopped one still shows "(stopped)".
      const rest = state.pending ? liveText({ ...state.pending, text: action.text }) : action.text;
      if (rest !== "" || action.end !== "failed") items.push({ kind: "answer", text: rest, end: action.end });
      if (action.error) items.push({ kind: "error", ...action.error });
      // The prompt's count (from turn-context) plus the answer's tokens.
      const completion = action.stats?.usage.completionTokens ?? 0;
      const context = state.context && { ...state.context, used: state.context.used + completion };
      return {
        items: withItems(state, ...items),
        pending: undefined,
        lastStats: action.stats,
        context,
      };
    }
    default:
      return checkExhaustive(action);
  }
}

/** Saved rounds as the transcript shows them: a continued session (--session, /load) replays its turns. */
export function roundsAsTranscript(rounds: readonly ChatRound[]): TranscriptItem[] {
  return rounds.flatMap((r): TranscriptItem[] => [
    { kind: "user", text: r.query },
    { kind: "answer", text: r.answer, end: r.interrupted ? "stopped" : "complete" },
  ]);
}
