// /export: the conversation as Markdown (to read) or as a session JSON file (to load again).
import { extname } from "node:path";
import type { ChatRound } from "./prompt.ts";
import { SESSION_FORMAT, SESSION_VERSION, writeFileAtomic, type SessionFile } from "./session-store.ts";

export class ExportError extends Error {
  override name = "ExportError";
  readonly code = "EXPORT_FORMAT_UNKNOWN";
}

export function conversationMarkdown(name: string, rounds: readonly ChatRound[]): string {
  const blocks = rounds.map((round, i) => {
    const quoted = round.query.split("\n").map((line) => `> ${line}`).join("\n");
    const mark = round.interrupted ? "\n\n_(answer cut short)_" : "";
    return `## ${i + 1}\n\n${quoted}\n\n${round.answer}${mark}\n`;
  });
  return [`# ${name}\n`, ...blocks].join("\n");
}

/** Writes the conversation to `file`, the format chosen by its extension (.md or .json). */
export function exportConversation(file: string, name: string, rounds: readonly ChatRound[]): void {
  const ext = extname(file).toLowerCase();
  if (ext === ".md" || ext === ".markdown") {
    writeFileAtomic(file, conversationMarkdown(name, rounds));
  } else if (ext === ".json") {
    const now = new Date().toISOString();
    const session: SessionFile = { format: SESSION_FORMAT, version: SESSION_VERSION, name, created_at: now, updated_at: now, rounds: [...rounds] };
    writeFileAtomic(file, `${JSON.stringify(session, null, 2)}\n`);
  } else {
    throw new ExportError(`Cannot export to "${file}": name a .md or .json file.`);
  }
}
