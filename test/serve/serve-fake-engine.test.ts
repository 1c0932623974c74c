// The HTTP server on a fake engine the test drives token by token: queue overflow, leaving the queue, aborts, stop strings, errors, keys.
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { TokenCounter } from "../../src/chat/context-budget.ts";
import { DEFAULT_GENERATION_SETTINGS } from "../../src/chat/generation-settings.ts";
import { JobRunner } from "../../src/serve/chat-job.ts";
import { SidecarError } from "../../src/sidecar/errors.ts";
import { EngineQueue } from "../../src/serve/engine-queue.ts";
import { ApiServer } from "../../src/serve/http-server.ts";
import { codedError, FakeBackend } from "../fakes/fake-backend.ts";
import { waitFor } from "../helpers/wait-for.ts";

const servers: ApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => (s.server.closeAllConnections(), s.close())));
});

async function start(backend: FakeBackend, options: { maxQueue?: number; apiKey?: string; cors?: string } = {}) {
  const queue = new EngineQueue(options.maxQueue ?? 16);
  const runner = new JobRunner(backend, new TokenCounter((t) => backend.countTokens(t)), queue);
  const logs: string[] = [];
  const server = new ApiServer(
    { runner, defaults: DEFAULT_GENERATION_SETTINGS, status: () => backend.status(), startedAt: new Date(), version: "test", modelBytes: 0 },
    { apiKey: options.apiKey, cors: options.cors, log: (line) => logs.push(line) },
  );
  servers.push(server);
  const { port } = await server.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${port}`;
  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    fetch(url + path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json", ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) }, ...init });
  return { url, post, logs, queue, server };
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: "chatglm-6b", messages: [{ role: "user" as const, content }], ...extra });
const readyStatus = { state: "ready" as const, device: "CPU", engine: "fake 1.0", seqLength: 64 };

describe("serve on a fake engine", () => {
  it("a full queue answers 503 with Retry-After; a waiting client that leaves frees its place; the rest run in order", async () => {
    const backend = new FakeBackend(readyStatus);
    const { post, queue } = await start(backend, { maxQueue: 2 });
    const first = post("/v1/chat/completions", ask("one"));
    const running = await backend.turnAt(0);
    const leaver = new AbortController();
    const second = post("/v1/chat/completions", ask("two"), { signal: leaver.signal });
    const third = post("/v1/chat/completions", ask("three"));
    await waitFor(() => expect(queue.waiting).toBe(2));
    const full = await post("/v1/chat/completions", ask("four"));
    expect(full.status).toBe(503);
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await full.json()).toMatchObject({ error: { type: "overloaded_error", code: "queue_full" } });

    leaver.abort();
    await expect(second).rejects.toThrow();
    await waitFor(() => expect(queue.waiting).toBe(1));
    running.delta("a").finish("stop");
    expect(await (await first).json()).toMatchObject({ choices: [{ message: { content: "a" }, finish_reason: "stop" }] });
    (await backend.turnAt(1)).delta("b").finish("length");
    expect(await (await third).json()).toMatchObject({ choices: [{ message: { content: "b" }, finish_reason: "length" }] });
    expect(backend.turns.map((t) => t.prompt)).toEqual(["one", "three"]); // "two" never reached the engine
  });

  it("a client that disconnects mid-stream cancels its answer, and the next request starts", async () => {
    const backend = new FakeBackend(readyStatus);
    const { post, logs } = await start(backend);
    const client = new AbortController();
    const streamed = await post("/v1/chat/completions", ask("long", { stream: true }), { signal: client.signal });
    const turn = await backend.turnAt(0);
    turn.delta("x");
    const reader = streamed.body!.getReader();
    await reader.read(); // the role chunk
    const next = post("/v1/chat/completions", ask("next"));
    client.abort();
    await waitFor(() => expect(turn.ended).toBe(true));
    expect(turn.options.signal?.aborted).toBe(true);
    (await backend.turnAt(1)).delta("ok").finish();
    expect((await (await next).json()).choices[0].message.content).toBe("ok");
    await waitFor(() => expect(logs.some((l) => / 499 /.test(l))).toBe(true));
  });

  it("a stop string ends the answer there with finish_reason stop, across deltas, and stops the engine", async () => {
    const backend = new FakeBackend(readyStatus);
    const { url } = await start(backend);
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    backend.script((t) => t.delta("Hel", "lo wor", "ld and more"));
    const stream = await openai.chat.completions.create({ ...ask("q"), stream: true, stop: ["o w"] } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe("Hell");
    expect(finish).toBe("stop");
    expect(backend.turns[0]!.options.signal?.aborted).toBe(true);
  });

  it("an engine failure is a 500 in one short sentence before the stream, an error event inside it; details only in the log; the server goes on", async () => {
    const backend = new FakeBackend(readyStatus);
    const { url, post, logs } = await start(backend);
    const stderrTail = ["Traceback (most recent call last):", '  File "/home/u/glm_sidecar/server.py", line 9', "UserWarning: /opt/secret/path"];
    const died = () => new SidecarError("SIDECAR_EXITED", "the engine was killed by SIGKILL during the answer", { stderrTail, logPath: "/home/u/.local/state/sidecar.log" });
    backend.script((t) => t.fail(died()));
    const plain = await post("/v1/chat/completions", ask("q"));
    expect(plain.status).toBe(500);
    const body = await plain.json();
    expect(body).toMatchObject({ error: { type: "server_error", code: "sidecar_exited", message: "The engine failed: the engine was killed by SIGKILL during the answer." } });
    expect(JSON.stringify(body)).not.toMatch(/\/home|\/opt|Traceback|Warning/);
    await waitFor(() => expect(logs.join("\n")).toContain("UserWarning: /opt/secret/path"));
    expect(logs.join("\n")).toContain("log: /home/u/.local/state/sidecar.log");

    backend.script((t) => t.fail(new SidecarError("ENGINE_ERROR", "RuntimeError: cannot open /models/x.ckpt\n  at line 3", { ename: "RuntimeError" })));
    expect((await (await post("/v1/chat/completions", ask("q"))).json()).error.message).toBe("The engine failed while answering (RuntimeError); the server's log has the details.");
    backend.script((t) => t.fail(new Error("unexpected /internal/path")));
    expect((await (await post("/v1/chat/completions", ask("q"))).json()).error.message).not.toContain("/internal");

    backend.script((t) => t.delta("partial").fail(died()));
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await openai.chat.completions.create({ ...ask("q"), stream: true });
    await expect((async () => {
      for await (const _ of stream) void _;
    })()).rejects.toThrow(/The engine failed: the engine was killed/);
    // The request log carries the status the stream failed with, not the 200 it began with.
    await waitFor(() => expect(logs.some((l) => /^POST \/v1\/chat\/completions 500 \(after the stream began\)/.test(l))).toBe(true));

    backend.reply("fine");
    expect((await (await post("/v1/chat/completions", ask("q"))).json()).choices[0].message.content).toBe("fine");
  });

  it("asks for the key on everything but /health; refused fields and roles get 400s naming them", async () => {
    const backend = new FakeBackend(readyStatus);
    const { url, post } = await start(backend, { apiKey: "sekrit" });
    const wrong = await fetch(`${url}/v1/models`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: "invalid_api_key", type: "authentication_error" } });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const refused = async (body: unknown, param: string) => {
      const response = await post("/v1/chat/completions", body);
      expect(response.status).toBe(400);
      expect((await response.json()).error.param).toBe(param);
    };
    await refused(ask("q", { n: 2 }), "n");
    await refused(ask("q", { frequency_penalty: 0.5 }), "frequency_penalty");
    await refused({ model: "chatglm-6b", messages: [{ role: "tool", content: "x" }] }, "messages[0].role");
    await refused({ model: "chatglm-6b", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }, "messages[0].content");
    await refused(ask("q", { temperature: "hot" }), "temperature");
    const ollama = await post("/api/chat", { model: "llama3", messages: [{ role: "user", content: "q" }] });
    expect(ollama.status).toBe(404);
    expect(await ollama.json()).toEqual({ error: expect.stringContaining("llama3") });
    expect((await post("/v1/nothing", {})).status).toBe(404);
    expect((await fetch(`${url}/v1/chat/completions`, { headers: { authorization: "Bearer sekrit" } })).status).toBe(405);
    // Without the key, nothing but /health is told anything: unknown paths and wrong methods are 401 too.
    for (const [method, path] of [["GET", "/v1/nothing"], ["GET", "/v1/chat/completions"], ["POST", "/api/nothing"], ["DELETE", "/"], ["GET", "/v1/models/%E0%A4%A"]]) {
      const response = await fetch(url + path, { method });
      expect([method, path, response.status]).toEqual([method, path, 401]);
    }
    expect(backend.turns).toHaveLength(0);
  });

  it("history that does not fit drops the oldest rounds and says how many; a question that alone does not fit is a 400", async () => {
    const backend = new FakeBackend(readyStatus); // seq_length 64, fake tokens are words + 2
    const { post } = await start(backend);
    const filler = Array.from({ length: 20 }, (_, i) => `w${i}`).join(" ");
    const messages = [];
    for (let i = 0; i < 4; i++) messages.push({ role: "user", content: filler }, { role: "assistant", content: "ok" });
    messages.push({ role: "user", content: "last" });
    backend.reply("done");
    const fitted = await post("/v1/chat/completions", { model: "chatglm-6b", messages, max_tokens: 8 });
    expect(fitted.status).toBe(200);
    expect(Number(fitted.headers.get("x-context-dropped-rounds"))).toBeGreaterThan(0);

    // The system text is never dropped with the oldest rounds: it moves to the first round sent.
    backend.reply("done");
    const withSystem = await post("/v1/chat/completions", { model: "chatglm-6b", messages: [{ role: "system", content: "SYS" }, ...messages], max_tokens: 8 });
    const dropped = Number(withSystem.headers.get("x-context-dropped-rounds"));
    expect(dropped).toBeGreaterThan(0);
    expect(backend.turns[1]!.prompt).toMatch(/^\[Round 0\]\n问：SYS\nw0 w1 /);
    expect(backend.turns[1]!.prompt.match(/\[Round \d+\]/g)).toHaveLength(4 - dropped + 1);

    const tooLong = await post("/v1/chat/completions", ask(Array.from({ length: 80 }, (_, i) => `w${i}`).join(" ")));
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ error: { code: "context_length_exceeded" } });
  });

  it("stopping drains: waiting requests get 503 server_stopping, the answer in progress finishes, then it closes", async () => {
    const backend = new FakeBackend(readyStatus);
    const { post, queue, server } = await start(backend);
    const running = post("/api/chat", { model: "chatglm-6b", messages: [{ role: "user", content: "one" }], stream: false });
    const turn = await backend.turnAt(0);
    const waiting = post("/v1/chat/completions", ask("two"));
    await waitFor(() => expect(queue.waiting).toBe(1));
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    const refused = await waiting;
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe("server_stopping");
    expect(closed).toBe(false);
    turn.delta("answer").finish("stop");
    expect(await (await running).json()).toMatchObject({ message: { role: "assistant", content: "answer" }, done: true, done_reason: "stop", truncated_rounds: 0 });
    await closing;
    expect(backend.turns).toHaveLength(1);
  });

  it("--cors answers preflights and marks replies for the browser", async () => {
    const backend = new FakeBackend(readyStatus);
    const { url } = await start(backend, { cors: "https://app.example", apiKey: "k" });
    const preflight = await fetch(`${url}/v1/chat/completions`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    const models = await fetch(`${url}/v1/models`, { headers: { authorization: "Bearer k" } });
    expect(models.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect((await models.json()).data[0]).toMatchObject({ id: "chatglm-6b", status: "ready", context_length: 64 });
  });
});
