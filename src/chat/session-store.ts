// Saved conversations: one JSON file per session under the XDG data dir, written atomically, checked with zod.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import type { ChatRound } from "./prompt.ts";

export const SESSION_FORMAT = "glm-chat-session";
export const SESSION_VERSION = 1;

const RoundSchema = z.object({ query: z.string(), answer: z.string(), interrupted: z.boolean().optional() });

export const SessionFileSchema = z.object({
  format: z.literal(SESSION_FORMAT),
  version: z.literal(SESSION_VERSION),
  name: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  rounds: z.array(RoundSchema),
});

export type SessionFile = z.infer<typeof SessionFileSchema>;

export type SessionErrorCode =
  | "SESSION_NOT_FOUND"
  | "SESSION_CORRUPT"
  | "SESSION_NAME_INVALID"
  | "SESSION_EXISTS"
  | "SESSION_WRITE_FAILED";

export class SessionError extends Error {
  override name = "SessionError";
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    options: { cause?: unknown; movedTo?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.movedTo = options.movedTo;
  }
  /** Where a corrupted file was set aside. */
  readonly movedTo: string | undefined;
}

const NAME = /^[\p{L}\p{N}_][\p{L}\p{N}_.-]{0,63}$/u;

export function checkSessionName(name: string): string {
  if (!NAME.test(name) || name.endsWith(".json")) {
    throw new SessionError("SESSION_NAME_INVALID", `"${name}" cannot name a session: use up to 64 letters, digits, _ . - (no spaces or slashes).`);
  }
  return name;
}

/** A name for a conversation that has none yet: its start time, e.g. 2026-11-27_21-30-05. */
export function timestampSessionName(date = new Date()): string {
  return date.toISOString().slice(0, 19).replace("T", "_").replaceAll(":", "-");
}

/** Writes `text` to `path` so that a crash leaves either the old file or the new one, never half of one. */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    const fd = openSync(temp, "w", 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new SessionError("SESSION_WRITE_FAILED", `Could not write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Parses a session file's text; throws a plain Error saying what is wrong. */
export function parseSessionFile(text: string): SessionFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  const result = SessionFileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`not a glm-chat session v${SESSION_VERSION} (${issue ? `${issue.path.join(".") || "top level"}: ${issue.message}` : "invalid"})`);
  }
  return result.data;
}

export interface SessionSummary {
  name: string;
  rounds: number | undefined;
  updatedAt: string | undefined;
}

export class SessionStore {
  constructor(readonly dir: string) {}

  pathOf(name: string): string {
    return join(this.dir, `${checkSessionName(name)}.json`);
  }

  /** Saves `rounds` under `name`, keeping the file's creation time. */
  save(name: string, rounds: readonly ChatRound[], createdAt?: string): SessionFile {
    const now = new Date().toISOString();
    const file: SessionFile = { format: SESSION_FORMAT, version: SESSION_VERSION, name, created_at: createdAt ?? now, updated_at: now, rounds: [...rounds] };
    writeFileAtomic(this.pathOf(name), `${JSON.stringify(file, null, 2)}\n`);
    return file;
  }

  /** Loads a session. A file that is not a valid session is renamed `.corrupt-<time>` and reported. */
  load(name: string): SessionFile {
    const path = this.pathOf(name);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new SessionError("SESSION_NOT_FOUND", `No saved session "${name}" (${path}).`);
      throw error;
    }
    try {
      return parseSessionFile(text);
    } catch (error) {
      const movedTo = `${path}.corrupt-${timestampSessionName()}`;
      renameSync(path, movedTo);
      throw new SessionError("SESSION_CORRUPT", `Session "${name}" is unreadable: ${(error as Error).message}. It was moved aside to ${movedTo}.`, { cause: error, movedTo });
    }
  }

  /** Deletes a saved session's file (nothing when there is none). */
  remove(name: string): void {
    rmSync(this.pathOf(name), { force: true });
  }

  exists(name: string): boolean {
    try {
      readFileSync(this.pathOf(name));
      return true;
    } catch {
      return false;
    }
  }

  /** Saved sessions, newest first; an unreadable one is listed without details (and left alone). */
  list(): SessionSummary[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return [];
    }
    const sessions = entries
      .filter((entry) => entry.endsWith(".json") && !entry.startsWith("."))
      .map((entry): SessionSummary => {
        const name = entry.slice(0, -".json".length);
        try {
          const file = parseSessionFile(readFileSync(join(this.dir, entry), "utf8"));
          return { name, rounds: file.rounds.length, updatedAt: file.updated_at };
        } catch {
          return { name, rounds: undefined, updatedAt: undefined };
        }
      });
    return sessions.sort((a, b) => (b.updatedAt ?? "").localeCompare(a.updatedAt ?? "") || a.name.localeCompare(b.name));
  }
}
