// The chat screen: transcript, in-flight answer, crash panel, prompt and status line.
// Render it with Ink's `exitOnCtrlC: false`: App handles Ctrl+C itself (stop answer / clear / exit).
import { useCallback, useReducer } from "react";
import { Box } from "ink";
import type { ChatBackend } from "../chat/backend.ts";
import type { ChatSession } from "../chat/chat-session.ts";
import { parseChatInput } from "../chat/commands.ts";
import type { ConversationFiles } from "../chat/conversation-files.ts";
import { checkExhaustive } from "./check-exhaustive.ts";
import { chatViewReducer, initialChatViewState, type TranscriptItem } from "./chat-view-state.ts";
import { CrashPanel } from "./CrashPanel.tsx";
import { PendingAnswer } from "./PendingAnswer.tsx";
import { PromptInput } from "./PromptInput.tsx";
import { runSessionCommand } from "./session-commands.ts";
import { StatusLine } from "./StatusLine.tsx";
import { themeFor, ThemeContext } from "./theme.ts";
import { Transcript } from "./Transcript.tsx";
import { useBackendStatus } from "./useBackendStatus.ts";
import { useChatTurn } from "./useChatTurn.ts";
import { usePromptInput } from "./usePromptInput.ts";

export interface AppProps {
  session: ChatSession;
  backend: ChatBackend;
  /**
   * Called when the user quits: 0 for stop, /exit, /quit, Ctrl+C or Ctrl+D on an empty line; 130 for
   * a second Ctrl+C while an answer ignores the first. The CLI unmounts and picks the exit code.
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
}

export function App({ session, backend, onExit, modelLabel, noColor = false, files, startNotes = [] }: AppProps) {
  const [state, dispatch] = useReducer(chatViewReducer, undefined, () =>
    chatViewReducer(initialChatViewState(modelLabel), { type: "append", items: startNotes.map((text) => ({ kind: "note", text })) }),
  );
  const status = useBackendStatus(backend);
  const turn = useChatTurn(session, dispatch);
  const busy = state.pending !== undefined;

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
          return turn.start(input.text);
        case "clear":
          session.clear();
          files?.startNew();
          return echo({ kind: "note", text: `Conversation cleared; the next question starts afresh${files ? ` (saved as "${files.name}")` : ""}.` });
        case "set":
        case "save":
        case "load":
        case "sessions":
        case "export":
          return echo(runSessionCommand(input, session, files));
        case "usage":
          return echo({ kind: "error", message: input.message, code: undefined });
        case "exit":
          return onExit(0);
        case "help":
          return echo({ kind: "help" });
        case "unknown-command": {
          const message = `Unknown command ${input.name}. Type /help for the list.`;
          return echo({ kind: "error", message, code: undefined });
        }
        default:
          return checkExhaustive(input);
      }
    },
    [session, turn, onExit, files],
  );

  const exit = useCallback(() => onExit(0), [onExit]);
  // A second Ctrl+C while a stopped answer still has not ended quits (130, as for SIGINT).
  const stop = useCallback(() => {
    if (!turn.stop()) onExit(130);
  }, [turn, onExit]);
  const line = usePromptInput({ busy, onSubmit: submit, onStop: stop, onExit: exit });

  return (
    <ThemeContext value={themeFor(noColor)}>
      <Transcript items={state.items} />
      <Box flexDirection="column">
        {state.pending && <PendingAnswer text={state.pending.text} status={status} />}
        {status.state === "crashed" && <CrashPanel status={status} />}
        <Box flexDirection="column" marginTop={1}>
          <PromptInput line={line} busy={busy} />
          <StatusLine status={status} turn={state.pending} stats={state.lastStats} context={state.context} />
        </Box>
      </Box>
    </ThemeContext>
  );
}
