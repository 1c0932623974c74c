// Renders <App> over a fake backend and a real ChatSession, with key helpers for the tests.
import { render } from "ink-testing-library";
import { vi } from "vitest";
import type { BackendStatus } from "../../src/chat/backend.ts";
import { ChatSession, type ChatRound, type ChatSessionOptions } from "../../src/chat/chat-session.ts";
import type { ConversationFiles } from "../../src/chat/conversation-files.ts";
import { App } from "../../src/ui/App.tsx";
import type { InputHistoryStore } from "../../src/chat/input-history-store.ts";
import { FakeBackend } from "../fakes/fake-backend.ts";
import { waitFor } from "../helpers/wait-for.ts";

export const KEYS = { enter: "\r", ctrlC: "\u0003", ctrlD: "\u0004", ctrlU: "\u0015", backspace: "\u007f" };

export interface RenderAppOptions {
  session?: ChatSessionOptions;
  files?: ConversationFiles;
  startNotes?: string[];
  inputHistory?: InputHistoryStore;
  noColor?: boolean;
  /** Rounds the session starts with (a continued session). */
  history?: ChatRound[];
}

export function renderApp(status?: BackendStatus, options: RenderAppOptions = {}) {
  const backend = new FakeBackend(status);
  const files = options.files;
  const session = new ChatSession(backend, { onRecord: (history) => files?.autosave(history), ...options.session });
  if (options.history) session.replaceHistory(options.history);
  const onExit = vi.fn<(code: number) => void>();
  const app = render(
    <App session={session} backend={backend} onExit={onExit} modelLabel="ChatGLM-6B" files={files} startNotes={options.startNotes}
      inputHistory={options.inputHistory} noColor={options.noColor} />,
  );
  const frame = () => app.lastFrame() ?? "";
  return {
    ...app,
    backend,
    session,
    onExit,
    frame,
    /** Types `text` (as one chunk, like a paste) and presses Enter. */
    async ask(text: string) {
      app.stdin.write(text);
      await waitFor(() => {
        if (!frame().includes(text)) throw new Error(`prompt line never showed ${JSON.stringify(text)}`);
      });
      app.stdin.write(KEYS.enter);
    },
    /** Waits until the screen contains every one of `texts`. */
    async see(...texts: string[]) {
      await waitFor(() => {
        for (const text of texts) if (!frame().includes(text)) throw new Error(`not on screen: ${text}\n${frame()}`);
      });
    },
  };
}
