// The HTTP server: routes to the OpenAI and Ollama handlers, API key, CORS, /health, one log line per request, draining stop.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { ApiError, badRequest, openAiErrorBody, toApiError } from "./api-errors.ts";
import { QueueLeftError } from "./engine-queue.ts";
import { ollamaChat, ollamaGenerate, ollamaPs, ollamaTags, ollamaVersion } from "./ollama-api.ts";
import { chatCompletions, completions, getModel, listModels } from "./openai-api.ts";
import { DROPPED_ROUNDS_HEADER, RequestContext, type ServerFacts } from "./request-context.ts";

export interface ApiServerConfig {
  apiKey?: string;
  /** Access-Control-Allow-Origin for browsers (an origin, or *). */
  cors?: string;
  /** One line per request (method, path, status, tokens, ms). */
  log: (line: string) => void;
}

type Handler = (ctx: RequestContext, match: RegExpMatchArray) => void | Promise<void>;
interface Route {
  method: "GET" | "POST";
  path: RegExp;
  handler: Handler;
}

const ROUTES: Route[] = [
  { method: "GET", path: /^\/health$/, handler: health },
  { method: "GET", path: /^\/$/, handler: (ctx) => ctx.send(200, { name: "glm-chat serve", model: "chatglm-6b", docs: "docs/serve.md" }) },
  { method: "GET", path: /^\/v1\/models$/, handler: listModels },
  { method: "GET", path: /^\/v1\/models\/([^/]+)$/, handler: (ctx, m) => getModel(ctx, decodePathSegment(m[1]!)) },
  { method: "POST", path: /^\/v1\/chat\/completions$/, handler: chatCompletions },
  { method: "POST", path: /^\/v1\/completions$/, handler: completions },
  { method: "POST", path: /^\/api\/chat$/, handler: ollamaChat },
  { method: "POST", path: /^\/api\/generate$/, handler: ollamaGenerate },
  { method: "GET", path: /^\/api\/tags$/, handler: ollamaTags },
  { method: "GET", path: /^\/api\/ps$/, handler: ollamaPs },
  { method: "GET", path: /^\/api\/version$/, handler: ollamaVersion },
];

/** GET /health: the engine's state (loading with its phase, ready, busy, crashed) and the queue; 200 only when it can answer. */
function health(ctx: RequestContext): void {
  const s = ctx.facts.status();
  const queue = ctx.facts.runner.queue;
  const ok = s.state === "ready" || s.state === "busy";
  ctx.send(ok ? 200 : 503, {
    status: s.state,
    phase: s.phase ?? null,
    progress: s.progress ?? null,
    detail: s.detail ?? null,
    engine: s.engine ?? null,
    device: s.device ?? null,
    seq_length: s.seqLength ?? null,
    queue: { running: queue.running, waiting: queue.waiting, max_waiting: queue.maxWaiting },
  });
}

/** A path segment's percent-encoding decoded; 400 when it is malformed. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest("invalid_url", "The URL has a malformed percent-encoding.");
  }
}

/**
 * The request target as a URL on this server. Origin-form (`/path?query`, also `//a:b:c/`) is read as a
 * path, never as an authority; absolute-form (`http://host/path`) keeps only its path and query; anything
 * else is a 400.
 */
export function requestUrl(target: string | undefined): URL {
  const raw = target ?? "/";
  try {
    if (raw.startsWith("/")) return new URL(`http://localhost${raw}`);
    const absolute = new URL(raw);
    if (absolute.protocol === "http:" || absolute.protocol === "https:") return new URL(`http://localhost${absolute.pathname}${absolute.search}`);
  } catch {
    // not a URL: refused below
  }
  throw badRequest("invalid_url", "The request target is not a valid URL path.");
}

function keyMatches(expected: string, header: string | undefined): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim() ?? "";
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class ApiServer {
  readonly server: Server;
  #stopping = false;
  #inFlight = 0;
  #idle: (() => void) | undefined;

  constructor(
    private readonly facts: ServerFacts,
    private readonly config: ApiServerConfig,
  ) {
    this.server = createServer({ noDelay: true, keepAliveTimeout: 5000 }, (req, res) => void this.#handle(req, res).catch((error: unknown) => this.#lastResort(res, error)));
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const address = this.server.address();
        resolve({ host, port: typeof address === "object" && address ? address.port : port });
      });
    });
  }

  /** Stops listening, refuses whoever waits in the queue, lets the answer in progress finish, then closes. */
  async close(): Promise<void> {
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.facts.runner.queue.refuseWaiting(new QueueLeftError("SERVER_STOPPING", "The server is stopping."));
    this.server.closeIdleConnections();
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    this.server.closeAllConnections();
    await closed;
  }

  /** Ends every connection now and lets a pending close() finish without waiting for the handlers (a second Ctrl+C). */
  cutOff(): void {
    this.server.closeAllConnections();
    this.#idle?.();
  }

  #corsHeaders(): Record<string, string> {
    const origin = this.config.cors;
    if (!origin) return {};
    return {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Expose-Headers": `${DROPPED_ROUNDS_HEADER}, X-Context-Prompt-Tokens, Retry-After`,
      ...(origin === "*" ? {} : { Vary: "Origin" }),
    };
  }

  /**
   * One request, whatever its line, headers and body hold: every exception becomes an answer in the
   * API's error shape (or, once a stream has begun, its error event), never an escape.
   */
  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedMs = performance.now();
    const rawPath = (req.url ?? "/").split("?")[0]!;
    const ollama = rawPath.startsWith("/api/");
    let ctx: RequestContext | undefined;
    this.#inFlight += 1;
    try {
      const url = requestUrl(req.url);
      ctx = new RequestContext(req, res, url, this.facts, this.#corsHeaders());
      if (req.method === "OPTIONS") {
        res.writeHead(204, { ...ctx.baseHeaders, "Access-Control-Allow-Methods": "GET, POST, OPTIONS", "Access-Control-Allow-Headers": "Authorization, Content-Type", "Access-Control-Max-Age": "600" });
        res.end();
        return;
      }
      // The key is checked before anything else is told: an unknown path or a wrong method is a 401 too.
      if (this.config.apiKey && url.pathname !== "/health" && !keyMatches(this.config.apiKey, req.headers.authorization)) {
        throw new ApiError(401, "authentication_error", "invalid_api_key", "Incorrect or missing API key: send it as Authorization: Bearer KEY.");
      }
      if (this.#stopping) throw new ApiError(503, "server_error", "server_stopping", "The server is stopping.");
      const matching = ROUTES.filter((r) => r.path.test(url.pathname));
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        if (matching.length) throw new ApiError(405, "invalid_request_error", "method_not_allowed", `${req.method} is not allowed on ${url.pathname}; use ${matching.map((r) => r.method).join(" or ")}.`);
        throw new ApiError(404, "not_found_error", "unknown_url", `Unknown URL: ${req.method} ${url.pathname}. See docs/serve.md for the endpoints.`);
      }
      await route.handler(ctx, url.pathname.match(route.path)!);
    } catch (error) {
      ctx ??= new RequestContext(req, res, new URL("http://localhost/"), this.facts, this.#corsHeaders());
      this.#fail(ctx, error, ollama);
    } finally {
      // Logged when the handler is done (a cancelled answer has stopped by then), not when the socket closes.
      if (rawPath !== "/health") {
        // 499: the client closed the connection first; a stream that failed after its 200 is logged with the error's status.
        const status = ctx?.signal.aborted ? 499 : (ctx?.failedStatus ?? res.statusCode);
        const midStream = ctx?.failedStatus !== undefined ? " (after the stream began)" : "";
        const tokens = ctx?.usage ? `${ctx.usage.promptTokens}+${ctx.usage.completionTokens} tokens` : "-";
        this.config.log(`${req.method} ${logPath(rawPath)} ${status}${midStream} ${tokens} ${Math.round(performance.now() - startedMs)} ms`);
      }
      if (--this.#inFlight === 0) this.#idle?.();
    }
  }

  /** Only reached if answering an error failed itself: the connection is closed, the server goes on. */
  #lastResort(res: ServerResponse, error: unknown): void {
    this.config.log(`error internal: ${error instanceof Error ? error.message : String(error)}`);
    res.destroy();
  }

  #fail(ctx: RequestContext, error: unknown, ollama: boolean): void {
    const api = toApiError(error, this.#retryAfterS());
    if (ctx.signal.aborted) return void ctx.res.destroy(); // the client is gone: nobody to tell
    if (api.status >= 500) for (const line of api.details) this.config.log(`error ${api.code}: ${line}`);
    if (ctx.res.headersSent) {
      ctx.failedStatus = api.status;
      ctx.end(ctx.streamError?.(api));
      return;
    }
    const headers: Record<string, string> = api.retryAfterS === undefined ? {} : { "Retry-After": String(api.retryAfterS) };
    ctx.send(api.status, ollama ? { error: api.message } : openAiErrorBody(api), headers);
  }

  /** Seconds until the queue has likely moved: the waiting requests times the mean answer time, at least 1. */
  #retryAfterS(): number {
    const { runner } = this.facts;
    return Math.max(1, Math.ceil(((runner.queue.waiting + 1) * runner.meanAnswerMs) / 1000));
  }
}

/** The path as logged: control characters escaped, at most 200 characters. */
function logPath(path: string): string {
  const shown = JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path).slice(1, -1);
  return shown === "" ? "/" : shown;
}
