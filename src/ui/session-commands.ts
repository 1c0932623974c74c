// Runs the commands that change settings or touch session files, and says what happened as transcript items.
import type { ChatSession } from "../chat/chat-session.ts";
import type { ChatInput } from "../chat/commands.ts";
import type { ConversationFiles } from "../chat/conversation-files.ts";
import { describeSettings } from "../chat/generation-settings.ts";
import type { TranscriptItem } from "./chat-view-state.ts";

type SessionCommand = Extract<ChatInput, { kind: "set" | "save" | "load" | "sessions" | "export" }>;

const rounds = (n: number): string => `${n} ${n === 1 ? "round" : "rounds"}`;

function errorItem(error: unknown): TranscriptItem {
  const code = (error as { code?: unknown } | null)?.code;
  return { kind: "error", message: error instanceof Error ? error.message : String(error), code: typeof code === "string" ? code : undefined };
}

function listSessions(files: ConversationFiles): string {
  const sessions = files.list();
  if (sessions.length === 0) return `No saved sessions yet (they go to ${files.store.dir}).`;
  const rows = sessions.map((s) => {
    const mark = s.name === files.name ? "*" : " ";
    const detail = s.rounds === undefined ? "unreadable" : `${rounds(s.rounds)} · ${s.updatedAt?.slice(0, 16).replace("T", " ")}`;
    return `${mark} ${s.name.padEnd(22)} ${detail}`;
  });
  return [`Saved sessions (${files.store.dir}); * = this one:`, ...rows].join("\n");
}

/** `files` is undefined when sessions are off; the command then says so. */
export function runSessionCommand(input: SessionCommand, session: ChatSession, files: ConversationFiles | undefined): TranscriptItem {
  try {
    if (input.kind === "set") {
      if (input.name === undefined) return { kind: "note", text: describeSettings(session.settings).join("\n") };
      const next = session.set(input.name, input.value ?? "");
      const line = describeSettings(next).find((l) => l.startsWith(`${input.name} `));
      return { kind: "note", text: `${line ?? input.name} (from the next answer on)` };
    }
    if (!files) return { kind: "error", message: "Sessions are not available here.", code: undefined };
    switch (input.kind) {
      case "save": {
        const { path, moved } = files.saveAs(session.history, input.name);
        const was = moved ? ` It replaces "${moved}", the name it had.` : "";
        return { kind: "note", text: `Saved as "${files.name}" (${path}); later turns are saved there too.${was}` };
      }
      case "load": {
        const loaded = files.load(input.name);
        session.replaceHistory(loaded);
        return { kind: "note", text: `Loaded "${input.name}": ${rounds(loaded.length)}, shown below; the next question continues it.` };
      }
      case "sessions":
        return { kind: "note", text: listSessions(files) };
      case "export": {
        const path = files.exportTo(input.file, session.history);
        return { kind: "note", text: `Exported ${rounds(session.history.length)} to ${path}.` };
      }
    }
  } catch (error) {
    return errorItem(error);
  }
}
