// `glm-chat serve` end to end: the real binary, the real sidecar on the tiny model, driven by the official openai and ollama clients and curl.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHttp } from "../helpers/fake-serve.ts";
import { waitFor } from "../helpers/wait-for.ts";

const python = process.env.GLM_CHAT_PYTHON;
const modelDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !modelDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}
const scratch = mkdtempSync(join(tmpdir(), "glm-chat-serve-"));
const env = { XDG_DATA_HOME: join(scratch, "data"), XDG_STATE_HOME: join(scratch, "state"), XDG_CACHE_HOME: join(scratch, "cache"), GLM_CHAT_API_KEY: "" };
const bin = join(import.meta.dirname, "..", "..", "bin", "glm-chat.js");
const KEY = "test-key-12";

function glmChatServe(args: string[]): ResultPromise<{ reject: false; all: true }> {
  return execa(process.execPath, [bin, "serve", "--model-dir", modelDir!, "--python", python!, "--engine", "mindformers", ...args], { env, reject: false, all: true, timeout: 280_000 });
}

let server: ReturnType<typeof glmChatServe>;
let log = "";
let base = "";
let openai: OpenAI;
let ollama: Ollama;

beforeAll(async () => {
  server = glmChatServe(["--port", "0", "--api-key", KEY, "--max-queue", "8"]);
  server.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  await waitFor(() => expect(log).toMatch(/listening on /), 60_000);
  // It listens before the model is loaded (a ~15 s load on the tiny model): /health says so.
  const loading = await fetch(`${/listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)![1]}/health`);
  expect(loading.status).toBe(503);
  expect((await loading.json()).status).toMatch(/^(starting|loading)$/);
  await waitFor(() => expect(log).toMatch(/glm-chat: ready: /), 240_000);
  base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)![1]!;
  openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
  ollama = new Ollama({ host: base, headers: { Authorization: `Bearer ${KEY}` } });
}, 280_000);

afterAll(async () => {
  server?.kill("SIGTERM");
  const result = await server;
  rmSync(scratch, { recursive: true, force: true });
  expect(result.exitCode, result.all).toBe(0); // SIGTERM drains and stops cleanly
  expect(result.stderr).toMatch(/glm-chat: stopped$/); // execa drops the last newline
}, 60_000);

const hello = [{ role: "user" as const, content: "你好" }];
const greedy = (maxTokens: number) => ({ model: "chatglm-6b", messages: hello, max_tokens: maxTokens, temperature: 0 });
const health = async () => (await fetch(`${base}/health`)).json() as Promise<{ status: string; queue: { waiting: number } }>;

describe("glm-chat serve with the openai client", () => {
  it("answers plain and streamed alike, with usage, and logs one line per request", async () => {
    const plain = await openai.chat.completions.create(greedy(10));
    expect(plain).toMatchObject({ object: "chat.completion", model: "chatglm-6b", choices: [{ index: 0, message: { role: "assistant" }, finish_reason: "length" }] });
    expect(plain.id).toMatch(/^chatcmpl-/);
    expect(plain.usage).toEqual({ prompt_tokens: 3, completion_tokens: 10, total_tokens: 13 }); // 你好 [gMASK] <sop>
    expect(plain.choices[0]!.message.content!.length).toBeGreaterThan(0);

    const stream = await openai.chat.completions.create({ ...greedy(10), stream: true, stream_options: { include_usage: true } });
    let text = "";
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.id).toMatch(/^chatcmpl-/);
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.choices[0]) finishes.push(chunk.choices[0].finish_reason);
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(finishes.at(-1)).toBe("length");
    expect(usage).toEqual(plain.usage);
    expect(log).toMatch(/glm-chat: POST \/v1\/chat\/completions 200 3\+10 tokens \d+ ms\n/);
    expect(log).toMatch(/glm-chat: loading: checkpoint 100%\n[^]*glm-chat: ready: ChatGLM-6B on CPU:0 \(mindformers /); // the load phases, as the chat shows them
  }, 60_000);

  it("repeats a seeded sampled answer, and cuts at a stop string with finish_reason stop", async () => {
    const sampled = { model: "chatglm-6b", messages: hello, max_tokens: 12, temperature: 0.9, top_p: 0.9, seed: 1234 };
    const [a, b] = [await openai.chat.completions.create(sampled), await openai.chat.completions.create(sampled)];
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);

    const full = (await openai.chat.completions.create(greedy(12))).choices[0]!.message.content!;
    const middle = Math.floor(full.length / 2);
    const stop = full.slice(middle, middle + 2);
    const cut = await openai.chat.completions.create({ ...greedy(12), stop: [stop] });
    expect(cut.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.choices[0]!.finish_reason).toBe("stop");
  }, 60_000);

  it("serves raw-prompt completions", async () => {
    const completion = await openai.completions.create({ model: "chatglm-6b", prompt: "你好", max_tokens: 10, temperature: 0 });
    const chat = await openai.chat.completions.create(greedy(10));
    expect(completion).toMatchObject({ object: "text_completion", choices: [{ text: chat.choices[0]!.message.content, finish_reason: "length" }] });
  }, 60_000);

  it("answers 8 concurrent clients, one at a time", async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => openai.chat.completions.create({ ...greedy(4), seed: i })));
    for (const answer of answers) expect(answer.usage?.completion_tokens).toBe(4);
  }, 90_000);

  it("a full queue gets 503; a client that aborts mid-stream frees the engine at once for the next", async () => {
    const long = await openai.chat.completions.create({ ...greedy(240), stream: true });
    const chunks = long[Symbol.asyncIterator]();
    await chunks.next();
    await chunks.next(); // the engine is answering
    const queued = Array.from({ length: 8 }, () => openai.chat.completions.create(greedy(2)));
    await waitFor(async () => expect((await health()).queue.waiting).toBe(8), 10_000);
    const overflow = await openai.chat.completions.create(greedy(2)).catch((e: unknown) => e);
    expect(overflow).toBeInstanceOf(OpenAI.APIError);
    expect((overflow as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((overflow as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toMatch(/^\d+$/);

    long.controller.abort();
    for (const answer of await Promise.all(queued)) expect(answer.usage?.completion_tokens).toBe(2);
    // The aborted answer stopped within a few tokens of the abort, far short of its 240.
    const aborted = /POST \/v1\/chat\/completions 499 3\+(\d+) tokens/.exec(log);
    expect(aborted, log.split("\n").filter((l) => / 499 /.test(l)).join("\n")).not.toBeNull();
    expect(Number(aborted![1])).toBeLessThan(60);
  }, 90_000);

  it("refuses bad JSON, wrong types, an unknown model, a wrong key and an over-long conversation with OpenAI-shaped 4xx, and lives on", async () => {
    const badJson = await fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: "{nope" });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ error: { message: expect.stringContaining("not valid JSON"), type: "invalid_request_error", param: null, code: "invalid_json" } });

    const wrongType = await openai.chat.completions.create({ ...greedy(4), temperature: "hot" as unknown as number }).catch((e: unknown) => e);
    expect(wrongType).toBeInstanceOf(OpenAI.BadRequestError);
    expect((wrongType as InstanceType<typeof OpenAI.APIError>).param).toBe("temperature");
    const unknownModel = await openai.chat.completions.create({ ...greedy(4), model: "gpt-4o" }).catch((e: unknown) => e);
    expect(unknownModel).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknownModel as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found");
    const wrongKey = await new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0 }).models.list().catch((e: unknown) => e);
    expect(wrongKey).toBeInstanceOf(OpenAI.AuthenticationError);

    const tooLong = await openai.chat.completions.create({ model: "chatglm-6b", messages: [{ role: "user", content: "北京".repeat(200) }] }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tooLong as InstanceType<typeof OpenAI.APIError>).code).toBe("context_length_exceeded");

    // Old rounds that do not fit are dropped, and the reply says how many.
    const rounds = Array.from({ length: 6 }, () => [{ role: "user" as const, content: "北京".repeat(30) }, { role: "assistant" as const, content: "上海".repeat(30) }]).flat();
    const { data, response } = await openai.chat.completions.create({ model: "chatglm-6b", messages: [...rounds, ...hello], max_tokens: 4 }).withResponse();
    expect(Number(response.headers.get("x-context-dropped-rounds"))).toBeGreaterThan(0);
    expect(data.usage!.prompt_tokens).toBeLessThanOrEqual(256 - 4);

    const models = await openai.models.list();
    expect(models.data).toEqual([expect.objectContaining({ id: "chatglm-6b", object: "model", engine: expect.stringMatching(/^mindformers/) })]);
  }, 60_000);

  it("frames server-sent events exactly as OpenAI does (curl -N, byte for byte against what the client parsed)", async () => {
    const body = JSON.stringify({ ...greedy(6), stream: true, stream_options: { include_usage: true } });
    const curl = await execa("curl", ["-sN", "-D", "-", "-H", `Authorization: Bearer ${KEY}`, "-H", "Content-Type: application/json", "-d", body, `${base}/v1/chat/completions`]);
    const [head, raw] = curl.stdout.split("\r\n\r\n") as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toMatch(/\r\nContent-Type: text\/event-stream; charset=utf-8\r\n/i);
    const chunks: unknown[] = [];
    for await (const chunk of await openai.chat.completions.create({ ...greedy(6), stream: true, stream_options: { include_usage: true } })) chunks.push(chunk);
    const normalize = (text: string) => text.replace(/"id":"chatcmpl-[0-9a-f]{24}"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0');
    const expected = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
    expect(normalize(`${raw}\n`)).toBe(normalize(expected)); // execa strips the last newline
    expect(new Set(raw.match(/"id":"[^"]+"/g)).size).toBe(1); // one id across the chunks
  }, 60_000);
});

describe("glm-chat serve against a hostile client (issue #22's rows)", () => {
  it("answers each with a 4xx or a correct answer, and serves the next normal request", async () => {
    const port = Number(new URL(base).port);
    for (const target of ["//a:b:c/", "http://a:99999/v1/models"]) {
      for (const auth of ["", `Authorization: Bearer ${KEY}\r\n`]) {
        const raw = await rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`);
        expect([target, auth, raw.status! >= 400 && raw.status! < 500]).toEqual([target, auth, true]);
      }
    }
    const post = (path: string, body: string) => fetch(`${base}${path}`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body });
    // A lone surrogate in a short string: answered (the sidecar gets U+FFFD), and the engine stays ready.
    const surrogate = await post("/v1/chat/completions", '{"model":"chatglm-6b","max_tokens":3,"temperature":0,"messages":[{"role":"user","content":"a\\ud800b"}]}');
    expect(surrogate.status).toBe(200);
    expect((await health()).status).toBe("ready");
    for (const body of ['{"model":"chatglm-6b","max_tokens":1e16,"messages":[{"role":"user","content":"q"}]}', '{"model":"chatglm-6b","top_k":1e300,"messages":[{"role":"user","content":"q"}]}']) {
      expect([body, (await post("/v1/chat/completions", body)).status]).toEqual([body, 400]);
    }
    expect((await post("/api/generate", '{"model":"chatglm-6b","prompt":"q","options":{"num_predict":1e300}}')).status).toBe(400);
    expect((await fetch(`${base}/v1/models/%E0%A4%A`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(400);
    const huge = await post("/v1/chat/completions", JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: "长".repeat(1_000_000) }] }));
    expect(huge.status).toBe(400);
    expect((await huge.json()).error.code).toBe("context_length_exceeded");
    for (const [method, path] of [["GET", "/nope"], ["DELETE", "/v1/chat/completions"]]) {
      expect([method, path, (await fetch(`${base}${path}`, { method })).status]).toEqual([method, path, 401]);
    }
    const after = await openai.chat.completions.create(greedy(4));
    expect(after.usage?.completion_tokens).toBe(4);
  }, 60_000);
});

describe("glm-chat serve with the ollama client", () => {
  it("chats (streamed by default) and generates (stream: false) with options, and lists the model", async () => {
    const reference = (await openai.chat.completions.create(greedy(10))).choices[0]!.message.content!;
    let streamed = "";
    let last: { done_reason?: string; eval_count?: number; prompt_eval_count?: number } = {};
    for await (const part of await ollama.chat({ model: "chatglm-6b", messages: hello, stream: true, options: { num_predict: 10, temperature: 0 } })) {
      streamed += part.message.content;
      last = part;
    }
    expect(streamed).toBe(reference);
    expect(last).toMatchObject({ done_reason: "length", eval_count: 10, prompt_eval_count: 3 });

    const generated = await ollama.generate({ model: "chatglm-6b", prompt: "你好", stream: false, options: { num_predict: 10, temperature: 0 } });
    expect(generated.response).toBe(reference);
    expect(generated.done).toBe(true);
    const stopped = await ollama.generate({ model: "chatglm-6b", prompt: "你好", stream: false, options: { num_predict: 10, temperature: 0, stop: [reference.slice(3, 5)] } });
    expect(stopped.response).toBe(reference.slice(0, reference.indexOf(reference.slice(3, 5))));

    expect((await ollama.list()).models.map((m) => m.name)).toEqual(["chatglm-6b:latest"]);
    expect((await ollama.ps()).models).toHaveLength(1);
    expect((await ollama.version()).version).toMatch(/^\d+\.\d+\.\d+/);
    await expect(ollama.chat({ model: "llama3", messages: hello })).rejects.toThrow(/llama3/);
  }, 60_000);
});

describe("glm-chat serve when the engine dies", () => {
  it("gives the request in flight a 5xx with the engine's words, and the next request restarts the engine", async () => {
    const inFlight = openai.chat.completions.create(greedy(240)).catch((e: unknown) => e);
    await waitFor(async () => expect((await health()).status).toBe("busy"), 10_000);
    const children = await execa("ps", ["-o", "pid=,args=", "--ppid", String(server.pid)]);
    const sidecar = children.stdout.split("\n").find((line) => line.includes("glm_sidecar"));
    expect(sidecar, children.stdout).toBeDefined();
    process.kill(Number(sidecar!.trim().split(/\s+/)[0]), "SIGKILL");
    const failure = await inFlight;
    expect(failure).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failure as Error).message).toMatch(/engine/i);
    const after = await openai.chat.completions.create(greedy(4));
    expect(after.usage?.completion_tokens).toBe(4);
  }, 120_000);
});

describe("glm-chat serve's bind rule", () => {
  it("refuses to listen beyond loopback without an API key", async () => {
    const run = await glmChatServe(["--host", "0.0.0.0", "--port", "0"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Refusing to listen on 0\.0\.0\.0 without an API key/);
  }, 30_000);
});
