// The interactive chat: the Ink app on the terminal over a started backend, until the user leaves or a signal ends it.
import { join } from "node:path";
import { render } from "ink";
import type { ConversationFiles } from "../chat/conversation-files.ts";
import { FileInputHistory } from "../chat/input-history-store.ts";
import type { ChatRound } from "../chat/prompt.ts";
import type { AppPaths } from "../config/paths.ts";
import { App } from "../ui/App.tsx";
import type { CliOptions } from "./cli-options.ts";
import { chatSession, startBackend } from "./start-backend.ts";

/** Resolves with the exit code: 0 when the user leaves, 143 on SIGTERM, 129 on SIGHUP. */
export async function interactiveChat(options: CliOptions, paths: AppPaths, files: ConversationFiles, history: ChatRound[]): Promise<number> {
  const backend = await startBackend(options, paths);
  backend.start().catch(() => {}); // load while the user types; failures show in the status line and crash panel
  const session = chatSession(backend, options, files);
  session.replaceHistory(history);
  const startNotes = options.session === undefined
    ? []
    : [history.length ? `Continuing session "${files.name}": ${history.length} ${history.length === 1 ? "round" : "rounds"}.` : `New session "${files.name}"; each turn is saved there.`];
  let exitWith: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (exitWith = resolve));
  const app = render(
    <App session={session} backend={backend} onExit={(c) => exitWith(c)} modelLabel="ChatGLM-6B" noColor={Boolean(process.env.NO_COLOR)}
      files={files} startNotes={startNotes} inputHistory={new FileInputHistory(join(paths.stateDir, "input-history.jsonl"))} />,
    { exitOnCtrlC: false },
  );
  void app.waitUntilExit().then(() => exitWith(0));
  for (const [signal, code] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) process.once(signal, () => exitWith(code));
  const code = await exited;
  app.unmount();
  await backend.close();
  return code;
}
