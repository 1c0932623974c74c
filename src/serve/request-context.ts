// One HTTP exchange as the API handlers see it: the JSON body, the client-gone signal, JSON and streamed replies.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BackendStatus } from "../chat/backend.ts";
import type { ContextInfo } from "../chat/chat-session.ts";
import type { GenerationSettings } from "../chat/generation-settings.ts";
import { ApiError, badRequest } from "./api-errors.ts";
import type { JobRunner } from "./chat-job.ts";

/** Largest request body accepted (a long conversation is far smaller). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** What every handler may read about the server. */
export interface ServerFacts {
  runner: JobRunner;
  /** Sampling and length defaults: the command line's, ChatGLM-6B chat()'s for the rest. */
  defaults: GenerationSettings;
  status: () => BackendStatus;
  startedAt: Date;
  /** Size of the checkpoint file, for Ollama's model list. */
  modelBytes: number;
  version: string;
}

/** The header that says how many of the oldest rounds did not fit the model's window. */
export const DROPPED_ROUNDS_HEADER = "X-Context-Dropped-Rounds";

export function contextHeaders(context: ContextInfo | undefined): Record<string, string> {
  return context ? { [DROPPED_ROUNDS_HEADER]: String(context.droppedRounds), "X-Context-Prompt-Tokens": String(context.promptTokens) } : {};
}

export class RequestContext {
  /** Fires when the client goes away before the reply is complete. */
  readonly signal: AbortSignal;
  /** For the request log: tokens read and written. */
  usage: { promptTokens: number; completionTokens: number } | undefined;
  /** The status of an error told inside a stream that had begun with 200 (for the request log). */
  failedStatus: number | undefined;
  /** Set by a streaming handler: how an error is told once the stream has begun. */
  streamError: ((error: ApiError) => string) | undefined;
  readonly #controller = new AbortController();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly url: URL,
    readonly facts: ServerFacts,
    readonly baseHeaders: Record<string, string>,
  ) {
    this.signal = this.#controller.signal;
    res.on("close", () => {
      if (!res.writableFinished) this.#controller.abort();
    });
  }

  /** The body parsed as JSON; 400 when it is not JSON, 413 when it is too large. */
  async json(): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new ApiError(413, "invalid_request_error", "request_too_large", `The request body is over ${MAX_BODY_BYTES} bytes.`);
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw badRequest("invalid_json", `The body is not valid JSON: ${(cause as Error).message}`);
    }
  }

  send(status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (this.res.headersSent) return;
    const data = JSON.stringify(body);
    this.res.writeHead(status, { ...this.baseHeaders, ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
    this.res.end(data);
  }

  /** Sends the headers of a streamed reply; `write` then sends each piece at once. */
  startStream(contentType: string, headers: Record<string, string> = {}): void {
    this.res.writeHead(200, { ...this.baseHeaders, ...headers, "Content-Type": contentType, "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no" });
    this.res.flushHeaders();
  }

  write(text: string): void {
    if (!this.res.destroyed) this.res.write(text);
  }

  end(text?: string): void {
    if (!this.res.destroyed) this.res.end(text);
  }
}
