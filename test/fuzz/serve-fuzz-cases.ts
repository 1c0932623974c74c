// Property-based fuzzing of `serve` and the wire codec (fast-check), run by serve-fuzz.test.ts (bounded in npm test, more via scripts/fuzz-serve.ts).
import { decode } from "@msgpack/msgpack";
import fc from "fast-check";
import type { GenerateEvent, GenerateOptions } from "../../src/chat/backend.ts";
import { MAX_WHOLE_NUMBER } from "../../src/chat/generation-settings.ts";
import { decodeBody, decodeFrames, encodeFrames, makeEnvelope, ProtocolError, wellFormed } from "../../src/protocol/codec.ts";
import { requestUrl } from "../../src/serve/http-server.ts";
import { SidecarError } from "../../src/sidecar/errors.ts";
import { FakeBackend } from "../fakes/fake-backend.ts";
import { rawHttp, startFakeServe, type FakeServe } from "../helpers/fake-serve.ts";

export interface FuzzRun {
  numRuns: number;
  seed?: number;
}

/** Any UTF-16 code unit: lone surrogates and control characters included. */
export const anyUnitString = (maxLength = 40) => fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });
/** Strings that lean on what breaks parsers: surrogates, controls, %, URL syntax, quotes, long runs. */
export const nastyString = fc.oneof(
  anyUnitString(),
  fc.constantFrom("a\ud800b", "\udc00", "\ud83d\ude00", "\u0000", "\r\n", "%E0%A4%A", "%", "//a:b:c/", "http://a:99999/", "[", "\u2028", " ".repeat(200), "<|blank_80|>", "[gMASK]", "长".repeat(20_000), " ".repeat(11_000)),
  fc.array(fc.constantFrom("%", "/", ":", "@", "[", "]", "?", "#", "\\", "..", "a", "é", "\ud800", "\u0000", " "), { maxLength: 20 }).map((parts) => parts.join("")),
);
/** JSON values of every type and depth, with nasty strings and extreme numbers. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1, 0.5, 1e16, 1e300, -1e300, 2 ** 31, 2 ** 53 + 2, Number.MAX_VALUE, 5e-324),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    nastyString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(nastyString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

const FIELDS = ["model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed", "stop", "n", "stream", "stream_options", "echo", "suffix", "best_of", "logprobs", "tools", "response_format", "options", "system", "format", "images", "frequency_penalty", "presence_penalty"];
const OPTION_FIELDS = ["num_predict", "temperature", "top_p", "top_k", "repeat_penalty", "seed", "stop", "num_ctx"];

/** A plausible request with some fields replaced by anything: the shapes validation must survive. */
const mutatedRequest = fc.record({
  messages: fc.oneof(fc.constant([{ role: "user", content: "hi" }]), fc.array(fc.record({ role: fc.constantFrom("user", "assistant", "system", "developer", "tool", "x"), content: fc.oneof(nastyString, anyJson) }), { maxLength: 4 }), anyJson),
  fields: fc.dictionary(fc.constantFrom(...FIELDS), anyJson, { maxKeys: 4 }),
  options: fc.option(fc.dictionary(fc.constantFrom(...OPTION_FIELDS), anyJson, { maxKeys: 4 })),
  prompt: fc.oneof(nastyString, anyJson),
  stream: fc.boolean(),
}).map(({ messages, fields, options, prompt, stream }) => ({ model: "chatglm-6b", messages, prompt, stream, ...fields, ...(options ? { options } : {}) }));

const POSTS = ["/v1/chat/completions", "/v1/completions", "/api/chat", "/api/generate"];
const METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "CONNECT", "TRACE", "FOO", "G\u00e9T", ""];

/**
 * The engine as the sidecar would see it: it refuses (as an engine error, i.e. a 500) whatever the
 * sidecar's GenerateParams refuses, and any prompt that is not valid UTF-8 once encoded. It answers
 * every request at once.
 */
export class StrictFakeEngine extends FakeBackend {
  refusals: string[] = [];

  override generate(prompt: string, options: GenerateOptions = {}): AsyncIterable<GenerateEvent> {
    const problem = engineProblem(prompt, options);
    if (problem) {
      this.refusals.push(problem);
      this.script((t) => t.fail(new SidecarError("ENGINE_ERROR", `InvalidParameter: ${problem}`, { ename: "InvalidParameter" })));
    } else {
      this.reply("ok");
    }
    return super.generate(prompt, options);
  }

  override async countTokens(text: string): Promise<number> {
    const problem = wireProblem(text);
    if (problem) throw new SidecarError("SIDECAR_PROTOCOL_ERROR", problem);
    return super.countTokens(text);
  }
}

function wireProblem(text: string): string | undefined {
  const body = encodeFrames(makeEnvelope("tokenize_request", { text }, "s"), Buffer.from("k"))[1];
  return invalidUtf8(body) ? "a string is not valid UTF-8 on the wire" : undefined;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** True when a msgpack body holds a string that is not valid UTF-8 (what the Python decoder refuses). */
export function invalidUtf8(body: Uint8Array): boolean {
  const walk = (value: unknown): boolean => {
    if (value instanceof Uint8Array) {
      try {
        strictUtf8.decode(value);
        return false;
      } catch {
        return true;
      }
    }
    if (typeof value === "string") return wellFormed(value) !== value;
    if (typeof value !== "object" || value === null) return false;
    return (Array.isArray(value) ? value : Object.entries(value).flat()).some(walk);
  };
  return walk(decode(body, { rawStrings: true })); // string values come as their bytes; keys as strings
}

function engineProblem(prompt: string, options: GenerateOptions): string | undefined {
  const s = options.sampling ?? {};
  const whole = (n: number | undefined, min: number) => n === undefined || (Number.isInteger(n) && n >= min && n <= MAX_WHOLE_NUMBER);
  const finite = (n: number | undefined, ok: (n: number) => boolean) => n === undefined || (Number.isFinite(n) && ok(n));
  if (!whole(options.maxNewTokens, 1)) return `max_new_tokens ${options.maxNewTokens}`;
  if (!whole(s.topK, 0)) return `top_k ${s.topK}`;
  if (!whole(s.seed, 0)) return `seed ${s.seed}`;
  if (!finite(s.temperature, (n) => n >= 0)) return `temperature ${s.temperature}`;
  if (!finite(s.topP, (n) => n >= 0 && n <= 1)) return `top_p ${s.topP}`;
  if (!finite(s.repetitionPenalty, (n) => n > 0 && Math.fround(n) > 0 && Number.isFinite(Math.fround(n)))) return `repetition_penalty ${s.repetitionPenalty}`;
  return wireProblem(prompt);
}

/** A status the server may answer a fuzzed request with: anything but a 5xx (the fake engine never fails on its own). */
const acceptable = (status: number | undefined) => status === undefined || status < 500;

async function servesNormally(s: FakeServe): Promise<void> {
  const response = await fetch(`${s.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: "hi" }] }) });
  if (response.status !== 200) throw new Error(`the normal request after the fuzzed one got ${response.status}: ${await response.text()}`);
  await response.text();
}

/** Checks an error reply's shape: OpenAI's under /v1 and elsewhere, Ollama's `{error: string}` under /api. */
function checkErrorShape(path: string, status: number, text: string): void {
  if (status < 400) return;
  const body = JSON.parse(text) as { error?: unknown };
  const ok = path.startsWith("/api/") ? typeof body.error === "string" : typeof (body.error as { message?: unknown })?.message === "string";
  if (!ok) throw new Error(`${path} ${status}: not the API's error shape: ${text.slice(0, 200)}`);
}

export async function fuzzServeJsonBodies(run: FuzzRun): Promise<void> {
  const backend = new StrictFakeEngine({ state: "ready", device: "CPU", engine: "fake 1.0", seqLength: 256 });
  const s = await startFakeServe(backend);
  try {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...POSTS), fc.oneof(mutatedRequest, anyJson), fc.boolean(), async (path, value, asText) => {
        const body = asText && typeof value === "string" ? value : JSON.stringify(value) ?? "null";
        const response = await fetch(s.url + path, { method: "POST", body, headers: { "content-type": "application/json" } });
        const text = await response.text();
        if (!acceptable(response.status)) throw new Error(`${path} ${response.status} for ${body.slice(0, 300)}: ${text.slice(0, 300)}`);
        if (response.status >= 400) checkErrorShape(path, response.status, text);
        if (backend.refusals.length) throw new Error(`reached the engine with what it refuses: ${backend.refusals.join("; ")} (body ${body.slice(0, 300)})`);
        await servesNormally(s);
      }),
      { numRuns: run.numRuns, seed: run.seed, endOnFailure: true },
    );
  } finally {
    s.server.server.closeAllConnections();
    await s.server.close();
  }
}

export async function fuzzServeRequestLines(run: FuzzRun, apiKey?: string): Promise<void> {
  const s = await startFakeServe(new StrictFakeEngine({ state: "ready", device: "CPU", engine: "fake 1.0", seqLength: 256 }), { apiKey });
  const header = fc.tuple(fc.oneof(fc.constantFrom("Host", "Authorization", "Content-Type", "Content-Length", "Transfer-Encoding", "Origin", "X-\u00ff"), nastyString), nastyString);
  try {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), fc.oneof(nastyString, fc.constantFrom(...POSTS, "/health", "/v1/models/chatglm-6b", "/api/tags")), fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2", "FOO"), fc.array(header, { maxLength: 4 }), anyUnitString(60), async (method, target, version, headers, body) => {
        const lines = [`${method} ${target} ${version}`, ...headers.map(([k, v]) => `${k}: ${v}`), "Connection: close", "", body];
        const response = await rawHttp(s.port, Buffer.from(lines.join("\r\n"), "utf8"));
        if (!acceptable(response.status)) throw new Error(`${JSON.stringify(lines)} -> ${response.text.slice(0, 300)}`);
        // Without the key only /health (and a CORS preflight) may succeed.
        if (apiKey && response.status !== undefined && response.status < 400 && method !== "OPTIONS" && pathOf(target) !== "/health") {
          throw new Error(`${method} ${target} without the key got ${response.status}`);
        }
        await servesNormallyWith(s, apiKey);
      }),
      { numRuns: run.numRuns, seed: run.seed, endOnFailure: true },
    );
  } finally {
    s.server.server.closeAllConnections();
    await s.server.close();
  }
}

function pathOf(target: string): string | undefined {
  try {
    return requestUrl(target).pathname;
  } catch {
    return undefined;
  }
}

async function servesNormallyWith(s: FakeServe, apiKey: string | undefined): Promise<void> {
  if (!apiKey) return servesNormally(s);
  const response = await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (response.status !== 200) throw new Error(`the normal request after the fuzzed one got ${response.status}`);
  await response.text();
}

/** Any envelope content round-trips (strings made well-formed) and never puts CESU-8 on the wire. */
export function fuzzCodecRoundTrip(run: FuzzRun): void {
  fc.assert(
    fc.property(fc.constantFrom("generate_request", "tokenize_request", "token", "x"), fc.dictionary(nastyString, anyJson, { maxKeys: 5 }), nastyString, (type, content, session) => {
      const envelope = makeEnvelope(type, content as Record<string, unknown>, session);
      const frames = encodeFrames(envelope, Buffer.from("key"));
      if (invalidUtf8(frames[1])) throw new Error("a string that is not valid UTF-8 on the wire");
      const decoded = decodeFrames(frames, Buffer.from("key"));
      if (JSON.stringify(decoded) !== JSON.stringify(wellFormed(envelope))) throw new Error(`round trip changed ${JSON.stringify(envelope).slice(0, 200)}`);
    }),
    { numRuns: run.numRuns, seed: run.seed, endOnFailure: true },
  );
}

/** Whatever bytes arrive, decoding gives an envelope or a ProtocolError, never another exception. */
export function fuzzCodecDecode(run: FuzzRun): void {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(fc.dictionary(nastyString, anyJson, { maxKeys: 4 }), fc.nat(300)).map(([content, cut]) => {
      const body = encodeFrames(makeEnvelope("token", content as Record<string, unknown>, "s"), Buffer.from("k"))[1];
      return body.subarray(0, cut);
    }),
  );
  fc.assert(
    fc.property(bytes, fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 3 }), (body, frames) => {
      for (const attempt of [() => decodeBody(body), () => decodeFrames(frames, Buffer.from("k")), () => decodeFrames([Buffer.alloc(32), body], Buffer.from("k"))]) {
        try {
          attempt();
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw new Error(`not a ProtocolError: ${String(error)}`);
        }
      }
    }),
    { numRuns: run.numRuns, seed: run.seed, endOnFailure: true },
  );
}
