// The conversation's file: autosaves each finished turn under a session name; /save, /load, /sessions, /export.
import { resolve } from "node:path";
import type { ChatRound } from "./prompt.ts";
import { exportConversation } from "./session-export.ts";
import { checkSessionName, SessionError, SessionStore, timestampSessionName, type SessionSummary } from "./session-store.ts";

export class ConversationFiles {
  #name: string;
  #createdAt: string | undefined;
  /** The name is a timestamp glm-chat made up, not one the user chose: /save NAME moves the file instead of copying. */
  #autoNamed: boolean;

  /** `name`: the session to save into (a new timestamp name when left out). */
  constructor(
    readonly store: SessionStore,
    name?: string,
  ) {
    this.#name = name === undefined ? this.#freshName() : checkSessionName(name);
    this.#autoNamed = name === undefined;
  }

  /** A timestamp name no saved session has yet. */
  #freshName(): string {
    const base = timestampSessionName();
    let name = base;
    for (let i = 2; this.store.exists(name); i++) name = `${base}-${i}`;
    return name;
  }

  /** The session the conversation is saved into. */
  get name(): string {
    return this.#name;
  }

  /** Saves the conversation under the current name (atomic; a crash keeps the previous save). */
  autosave(history: readonly ChatRound[]): void {
    if (history.length === 0) return;
    this.#createdAt ??= new Date().toISOString();
    this.store.save(this.#name, history, this.#createdAt);
  }

  /**
   * /save [NAME]: saves under NAME and keeps saving there; refuses another conversation's name. A conversation
   * autosaved under a made-up timestamp name moves to NAME (`moved` names the file it replaces); a named one is copied.
   */
  saveAs(history: readonly ChatRound[], name = this.#name): { path: string; moved: string | undefined } {
    checkSessionName(name);
    const previous = this.#name;
    if (name !== previous && this.store.exists(name)) {
      throw new SessionError("SESSION_EXISTS", `A session "${name}" already exists; /load ${name} to continue it, or pick another name.`);
    }
    if (name !== previous && !this.#autoNamed) this.#createdAt = undefined;
    this.#name = name;
    this.#createdAt ??= new Date().toISOString();
    this.store.save(name, history, this.#createdAt);
    const moved = name !== previous && this.#autoNamed && this.store.exists(previous) ? previous : undefined;
    if (moved) this.store.remove(moved);
    this.#autoNamed = false;
    return { path: this.store.pathOf(name), moved };
  }

  /** /load NAME and --session NAME: the saved rounds; later turns are saved into NAME. */
  load(name: string): ChatRound[] {
    const file = this.store.load(name);
    this.#name = name;
    this.#createdAt = file.created_at;
    this.#autoNamed = false;
    return file.rounds;
  }

  /** --session NAME for a name that may not exist yet: its rounds, or none (a new session). */
  resume(name: string): ChatRound[] {
    if (!this.store.exists(name)) {
      this.#name = checkSessionName(name);
      this.#createdAt = undefined;
      this.#autoNamed = false;
      return [];
    }
    return this.load(name);
  }

  /** After /clear: later turns go to a new session; the old one stays saved. */
  startNew(): void {
    this.#name = this.#freshName();
    this.#createdAt = undefined;
    this.#autoNamed = true;
  }

  list(): SessionSummary[] {
    return this.store.list();
  }

  /** /export FILE: writes FILE.md or FILE.json (relative to the working directory); returns its path. */
  exportTo(file: string, history: readonly ChatRound[]): string {
    const path = resolve(file);
    exportConversation(path, this.#name, history);
    return path;
  }
}
