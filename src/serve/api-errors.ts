// Errors the HTTP API answers with: a status, OpenAI's type and code, words for the client; mapped from the core's coded errors.
import { ZodError } from "zod";
import { ContextBudgetError } from "../chat/context-budget.ts";
import { SidecarError } from "../sidecar/errors.ts";
import { QueueFullError, QueueLeftError } from "./engine-queue.ts";

export type ApiErrorType = "invalid_request_error" | "authentication_error" | "not_found_error" | "server_error" | "overloaded_error";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    options: { cause?: unknown; retryAfterS?: number; details?: string[] } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterS = options.retryAfterS;
    this.details = options.details ?? [message];
  }
  readonly retryAfterS: number | undefined;
  /** For the server's log (never the client): the full story, e.g. the engine's words and its last stderr lines. */
  readonly details: string[];
}

export const badRequest = (code: string, message: string, param: string | null = null) => new ApiError(400, "invalid_request_error", code, message, param);

/** The model names a request may carry: OpenAI's id, and Ollama's name with and without its tag. */
export const MODEL_ID = "chatglm-6b";
export const OLLAMA_MODEL_NAME = `${MODEL_ID}:latest`;

export function checkModel(model: unknown, required: boolean): void {
  if (model === undefined && !required) return;
  if (model === MODEL_ID || model === OLLAMA_MODEL_NAME) return;
  if (model === undefined) throw badRequest("missing_required_parameter", "you must provide a model parameter (chatglm-6b)", "model");
  throw new ApiError(404, "invalid_request_error", "model_not_found", `The model ${JSON.stringify(model)} does not exist; this server has ${MODEL_ID}.`, "model");
}

/** Status and words for whatever a request failed with; unknown errors become a 500 that names their message. */
export function toApiError(error: unknown, retryAfterS = 1): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) {
    const issue = error.issues[0]!;
    const param = issue.path.join(".") || null;
    return badRequest("invalid_value", `${param ?? "body"}: ${issue.message}`, param);
  }
  if (error instanceof ContextBudgetError) return badRequest("context_length_exceeded", error.message, "messages");
  if (error instanceof QueueFullError) return new ApiError(503, "overloaded_error", "queue_full", error.message, null, { cause: error, retryAfterS });
  if (error instanceof QueueLeftError) return new ApiError(503, "server_error", error.code.toLowerCase(), error.message, null, { cause: error });
  if (error instanceof SidecarError) {
    const status = error.code === "TOO_MANY_RESTARTS" || error.code === "SIDECAR_STOPPED" ? 503 : 500;
    const details = [error.message, ...error.stderrTail.slice(-3).map((line) => `  ${line}`), ...(error.logPath ? [`  log: ${error.logPath}`] : [])];
    return new ApiError(status, "server_error", error.code.toLowerCase(), engineSentence(error), null, { cause: error, details });
  }
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const name = typeof code === "string" ? code.toLowerCase() : "internal_error";
  return new ApiError(500, "server_error", name, `The server failed to answer (${name}); its log has the details.`, null, { cause: error, details: message.split("\n") });
}

/** Error names whose words are for the user (no paths, no traceback): the sidecar's own checks. */
const USER_FACING_ENAMES = new Set(["InvalidParameter", "PromptTooLong", "NotReady", "TokenizerOnly"]);

/**
 * One short sentence a client may read about an engine failure: the process's fate in our own words,
 * a user error's words, else the error's name; never a path, a stack line or the engine's stderr.
 */
export function engineSentence(error: SidecarError): string {
  const first = (text: string) => {
    const line = text.split("\n")[0]!.replace(/(^|[\s(='"])\/[^\s)'"]*/g, "$1<path>");
    return line.length > 200 ? `${line.slice(0, 199)}…` : line;
  };
  switch (error.code) {
    case "SIDECAR_EXITED":
    case "SIDECAR_UNRESPONSIVE":
    case "SIDECAR_NO_REPLY":
    case "TOO_MANY_RESTARTS":
    case "SIDECAR_STOPPED":
      return `The engine failed: ${first(error.message).replace(/\.$/, "")}.`;
    case "SIDECAR_OUT_OF_MEMORY":
      return "The engine ran out of memory; a shorter conversation or a smaller max_tokens may fit.";
    case "ENGINE_ERROR":
      if (error.ename && USER_FACING_ENAMES.has(error.ename)) return `The engine refused the request: ${first(error.message)}`;
      return `The engine failed while answering (${error.ename ?? "error"}); the server's log has the details.`;
    case "ENGINE_LOAD_FAILED":
      return `The model could not be loaded (${error.ename ?? "error"}); the server's log has the details.`;
    default:
      return `The engine failed (${error.code.toLowerCase()}); the server's log has the details.`;
  }
}

/** OpenAI's error body. */
export function openAiErrorBody(error: ApiError): { error: { message: string; type: string; param: string | null; code: string } } {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}
