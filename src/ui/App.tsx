// The chat screen: transcript, in-flight answer, crash panel, prompt and status line.
// Render it with Ink's `exitOnCtrlC: false`: App handles Ctrl+C itself (stop answer / clear / exit).
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { Box, Text } from "ink";
import type { ChatBackend } from "../chat/backend.ts";
import type { ChatSession } from "../chat/chat-session.ts";
import { completeCommandName, parseChatInput } from "../chat/commands.ts";
import type { ConversationFiles } from "../chat/conversation-files.ts";
import { MemoryInputHistory, type InputHistoryStore } from "../chat/input-history-store.ts";
import { checkExhaustive } from "./check-exhaustive.ts";
import { chatViewReducer, initialChatViewState, roundsAsTranscript, type LiveFit, type TranscriptItem } from "./chat-view-state.ts";
import { CommandHints } from "./CommandHints.tsx";
import { CrashPanel } from "./CrashPanel.tsx";
import { LoadingPanel } from "./LoadingPanel.tsx";
import { PendingAnswer } from "./PendingAnswer.tsx";
import { PromptInput } from "./PromptInput.tsx";
import { runSessionCommand } from "./session-commands.ts";
import { describeLastAnswer } from "./status-text.ts";
import { StatusLine } from "./StatusLine.tsx";
import { themeFor, ThemeContext } from "./theme.ts";
import { Transcript } from "./Transcript.tsx";
import { useBackendStatus } from "./useBackendStatus.ts";
import { useChatTurn } from "./useChatTurn.ts";
import { usePromptInput } from "./usePromptInput.ts";
import { useQuitConfirm } from "./useQuitConfirm.ts";
import { useTerminalModes } from "./useTerminalModes.ts";
import { useTranscriptReprint } from "./useTranscriptReprint.ts";
import { TerminalSizeContext, useTerminalSize } from "./useTerminalSize.ts";

/** Rows kept free under the live answer: prompt, status line, margins. */
const RESERVED_ROWS = 6;
/**
 * Rows the live answer may take before its start is committed to <Static>. Ink redraws the whole live
 * region on every frame, so a short one keeps each frame cheap; the text reads the same either way.
 */
const LIVE_ANSWER_MAX_ROWS = 12;

export interface AppProps {
  session: ChatSession;
  backend: ChatBackend;
  /**
   * Called when the user quits: 0 for stop, /exit, /quit, Ctrl+D on an empty line, or Ctrl+C on an empty
   * line (pressed twice within ~2 s while an engine is loaded or loading); 130 for a second Ctrl+C while
   * an answer ignores the first. The CLI unmounts and picks the exit code.
   */
  onExit: (code: number) => void;
  /** Shown in the banner, e.g. "ChatGLM-6B (int4)". */
  modelLabel?: string;
  /** Drop colours (NO_COLOR); chalk 5 does not read NO_COLOR itself, so the CLI decides. */
  noColor?: boolean;
  /** Where the conversation is autosaved; /save, /load, /sessions and /export use it. */
  files?: ConversationFiles;
  /** Notes shown under the banner at start, e.g. "Continuing session work: 3 rounds". */
  startNotes?: string[];
  /** Earlier questions for ↑/↓ (e.g. a file in the XDG state dir); in memory when left out. */
  inputHistory?: InputHistoryStore;
}

export function App({ session, backend, onExit: exitNow, modelLabel, noColor = false, files, startNotes = [], inputHistory }: AppProps) {
  // Leaving draws one last frame without the command hints (they would stay on the screen), then exits.
  const [leaving, setLeaving] = useState<number | undefined>(undefined);
  const onExit = useCallback((code: number) => setLeaving((now) => now ?? code), []);
  useEffect(() => {
    if (leaving !== undefined) exitNow(leaving);
  }, [leaving, exitNow]);
  // A continued session shows its earlier rounds under the start notes.
  const [state, dispatch] = useReducer(chatViewReducer, undefined, () => {
    const notes: TranscriptItem[] = startNotes.map((text) => ({ kind: "note", text }));
    return chatViewReducer(initialChatViewState(modelLabel), { type: "append", items: [...notes, ...roundsAsTranscript(session.history)] });
  });
  const status = useBackendStatus(backend);
  const size = useTerminalSize();
  const sizeRef = useRef(size);
  sizeRef.current = size;
  const lineRowsRef = useRef(1);
  // The live answer may take the screen less the prompt and status rows, and at most LIVE_ANSWER_MAX_ROWS.
  const fit = useCallback((): LiveFit => {
    const { rows, columns } = sizeRef.current;
    return { rows: Math.max(3, Math.min(LIVE_ANSWER_MAX_ROWS, rows - RESERVED_ROWS - lineRowsRef.current)), columns };
  }, []);
  const turn = useChatTurn(session, dispatch, fit);
  const history = useMemo(() => inputHistory ?? new MemoryInputHistory(), [inputHistory]);
  const clearScreen = useTerminalModes();
  const transcriptKey = useTranscriptReprint(size.columns);
  const busy = state.pending !== undefined;

  const lastAskedRef = useRef<string | undefined>(undefined);
  const ask = useCallback(
    (query: string) => {
      lastAskedRef.current = query;
      turn.start(query);
    },
    [turn],
  );

  const submit = useCallback(
    (line: string) => {
      const input = parseChatInput(line);
      // Commands are echoed like questions, so the transcript shows what produced their output.
      const echo = (item: TranscriptItem) =>
        dispatch({ type: "append", items: [{ kind: "user", text: line.trim() }, item] });
      switch (input.kind) {
        case "empty":
          return;
        case "message":
          return ask(input.text);
        case "clear":
          session.clear();
          files?.startNew();
          return echo({ kind: "note", text: `Conversation cleared; the next question starts afresh${files ? `, saved as "${files.name}" from its first answer` : ""}.` });
        case "load": {
          const item = runSessionCommand(input, session, files);
          const replay = item.kind === "note" ? roundsAsTranscript(session.history) : [];
          return dispatch({ type: "append", items: [{ kind: "user", text: line.trim() }, item, ...replay] });
        }
        case "set":
        case "save":
        case "sessions":
        case "export":
          return echo(runSessionCommand(input, session, files));
        case "usage":
          return echo({ kind: "error", message: input.message, code: undefined });
        case "exit":
          return onExit(0);
        case "help":
          return echo({ kind: "help" });
        case "stats":
          return echo({ kind: "note", text: describeLastAnswer(state.lastStats, state.context) });
        case "retry": {
          // A question whose answer failed before any text was never recorded: ask it again as it is.
          const asked = lastAskedRef.current;
          const recorded = asked === undefined || session.history.at(-1)?.query === asked;
          const query = recorded ? session.takeLastRound()?.query : asked;
          if (query === undefined) return echo({ kind: "error", message: "Nothing to answer again yet.", code: undefined });
          dispatch({ type: "append", items: [{ kind: "note", text: "Answering the last question again (the old answer leaves the history)." }] });
          return ask(query);
        }
        case "unknown-command": {
          const message = `Unknown command ${input.name}. Type /help for the list.`;
          return echo({ kind: "error", message, code: undefined });
        }
        default:
          return checkExhaustive(input);
      }
    },
    [session, ask, onExit, files, state.lastStats, state.context],
  );

  const exit = useCallback(() => onExit(0), [onExit]);
  // A second Ctrl+C while a stopped answer still has not ended quits (130, as for SIGINT).
  const stop = useCallback(() => {
    if (!turn.stop()) onExit(130);
  }, [turn, onExit]);
  const quit = useQuitConfirm(status.state, exit);
  const prompt = usePromptInput({ busy, onSubmit: submit, onStop: stop, onExit: exit, onQuitRequest: quit.request, onClearScreen: clearScreen, complete: completeCommandName, history });
  lineRowsRef.current = prompt.text.split("\n").length;
  const loading = (status.state === "starting" || status.state === "loading") && !busy;

  return (
    <ThemeContext value={themeFor(noColor)}>
      <TerminalSizeContext value={size}>
        <Transcript key={transcriptKey} items={state.items} />
        <Box flexDirection="column">
          {state.pending && <PendingAnswer pending={state.pending} status={status} />}
          {status.state === "crashed" && <CrashPanel status={status} />}
          {loading && <LoadingPanel status={status} />}
          <Box flexDirection="column" marginTop={1}>
            <PromptInput prompt={prompt} busy={busy} />
            {!busy && leaving === undefined && <CommandHints line={prompt.text} />}
            {quit.armed && <Text color={themeFor(noColor).warning}>Press Ctrl+C again to quit (Ctrl+D or /exit quit at once)</Text>}
            <StatusLine status={status} turn={!state.pending ? "none" : state.pending.stopping ? "stopping" : "streaming"} stats={state.lastStats} context={state.context} />
          </Box>
        </Box>
      </TerminalSizeContext>
    </ThemeContext>
  );
}
