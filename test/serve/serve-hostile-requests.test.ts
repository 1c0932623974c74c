// The rows of issue #22 at the HTTP server: request lines, targets and keys a hostile client sends; each gets an answer and the server goes on.
import { afterEach, describe, expect, it } from "vitest";
import { FakeBackend } from "../fakes/fake-backend.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { rawHttp, startFakeServe, type FakeServe } from "../helpers/fake-serve.ts";

const started: FakeServe[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => (s.server.server.closeAllConnections(), s.server.close())));
});
const readyStatus = { state: "ready" as const, device: "CPU", engine: "fake 1.0", seqLength: 64 };

async function serve(apiKey?: string) {
  const backend = new FakeBackend(readyStatus);
  const s = await startFakeServe(backend, { apiKey });
  started.push(s);
  const auth = apiKey ? `Authorization: Bearer ${apiKey}\r\n` : "";
  /** A normal chat request still gets its answer. */
  const servesNormally = async () => {
    backend.reply("fine");
    const body = JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: "hi" }] });
    const response = await rawHttp(s.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect(response.status).toBe(200);
    expect(response.text).toContain('"content":"fine"');
  };
  return { ...s, backend, servesNormally };
}

describe("hostile request lines", () => {
  for (const apiKey of [undefined, "sekrit"]) {
    it(`request targets new URL() cannot parse get a 4xx and the server goes on (${apiKey ? "with" : "without"} an API key)`, async () => {
      const s = await serve(apiKey);
      for (const target of ["//a:b:c/", "http://a:99999/v1/models", "//[::1/", "http://[/", "*", "a:b", "/v1/models/%E0%A4%A", "/%"]) {
        const response = await rawHttp(s.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect([target, response.status! >= 400 && response.status! < 500]).toEqual([target, true]);
      }
      await s.servesNormally();
    });
  }

  it("a malformed percent-encoding is a 400 in the API's error shape, not a 500", async () => {
    const s = await serve();
    const response = await fetch(`${s.url}/v1/models/%E0%A4%A`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: "invalid_request_error", code: "invalid_url" } });
    expect((await fetch(`${s.url}/v1/models/chatglm%2D6b`)).status).toBe(200);
  });

  it("the absolute form keeps its path: GET http://host/health is /health", async () => {
    const s = await serve();
    const response = await rawHttp(s.port, "GET http://example.com/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(response.status).toBe(200);
    expect(response.text).toContain('"status":"ready"');
  });

  it("with a key, unknown paths and wrong methods are 401 before 404 or 405; /health needs none", async () => {
    const s = await serve("sekrit");
    for (const line of ["GET /nope", "POST /v1/models", "PUT /v1/chat/completions", "GET /api/chat", "GET //a:b:c/"]) {
      const response = await rawHttp(s.port, `${line} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      expect([line, response.status]).toEqual([line, 401]);
    }
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    await s.servesNormally();
  });

  it("control characters and odd bytes in the path are logged escaped", async () => {
    const s = await serve();
    const response = await rawHttp(s.port, Buffer.from("GET /a%00b\x7f\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "latin1"));
    expect(response.status).toBeGreaterThanOrEqual(400);
    for (const line of s.logs) expect(line).not.toMatch(/[\x00-\x1f\x7f]/);
    await s.servesNormally();
  });
});

describe("numbers beyond the engine's range", () => {
  it("are 400s naming the field, and never reach the engine", async () => {
    const s = await serve();
    const chat = (extra: Record<string, unknown>) => JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: "q" }], ...extra });
    const cases: Array<[string, string, string]> = [
      ["/v1/chat/completions", chat({ max_tokens: 1e16 }), "max_tokens"],
      ["/v1/chat/completions", chat({ max_tokens: 1e300 }), "max_tokens"],
      ["/v1/chat/completions", chat({ max_completion_tokens: 2 ** 31 }), "max_completion_tokens"],
      ["/v1/chat/completions", chat({ top_k: 1e300 }), "top_k"],
      ["/v1/chat/completions", chat({ temperature: 1 }).replace('"temperature":1', '"temperature":1e400'), "temperature"],
      ["/v1/chat/completions", chat({ repetition_penalty: 1e-300 }), "repetition_penalty"],
      ["/v1/chat/completions", chat({ n: 1e300 }), "n"],
      ["/v1/completions", JSON.stringify({ model: "chatglm-6b", prompt: "q", max_tokens: 1e16 }), "max_tokens"],
      ["/v1/completions", JSON.stringify({ model: "chatglm-6b", prompt: "q", best_of: 1e300 }), "best_of"],
      ["/api/chat", JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: "q" }], options: { num_predict: 1e300 } }), "options.num_predict"],
      ["/api/generate", JSON.stringify({ model: "chatglm-6b", prompt: "q", options: { top_k: 1e300 } }), "options.top_k"],
      ["/api/generate", JSON.stringify({ model: "chatglm-6b", prompt: "q", options: { temperature: 1e300 } }), "options.temperature"],
      ["/api/generate", JSON.stringify({ model: "chatglm-6b", prompt: "q", options: { repeat_penalty: 1e300 } }), "options.repeat_penalty"],
      ["/api/generate", JSON.stringify({ model: "chatglm-6b", prompt: "q", options: { seed: -1 } }), "options.seed"],
    ];
    for (const [path, body, param] of cases) {
      const response = await fetch(s.url + path, { method: "POST", body, headers: { "content-type": "application/json" } });
      const answer = (await response.json()) as { error: { param?: string } | string };
      expect([body, response.status]).toEqual([body, 400]);
      if (typeof answer.error === "object") expect(answer.error.param).toBe(param);
      else expect(answer.error).toContain(param);
    }
    expect(s.backend.turns).toHaveLength(0);
    await s.servesNormally();
  });
});

describe("questions that cannot fit", () => {
  it("are refused by length without tokenising them, even while the engine is busy; the count cache stays bounded", async () => {
    const s = await serve();
    const counted: number[] = [];
    const count = s.backend.countTokens.bind(s.backend);
    s.backend.countTokens = (text) => (counted.push(text.length), count(text));
    // An answer in progress holds the engine: a refusal that needed it would wait behind this turn.
    const busy = fetch(`${s.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: "hold" }] }) });
    const running = await s.backend.turnAt(0);
    for (let i = 0; i < 10; i++) {
      const question = `${i} ${"word ".repeat(200_000)}`; // 1 MB
      const response = await fetch(`${s.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: question }] }) });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "context_length_exceeded", param: "messages" } });
    }
    const ollama = await fetch(`${s.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "chatglm-6b", prompt: "x".repeat(6_000_000), stream: false }) });
    expect(ollama.status).toBe(400);
    expect(counted.filter((n) => n > 100_000)).toEqual([]);
    expect(s.counter.cachedBytes).toBeLessThanOrEqual(16 * 1024 * 1024);
    running.delta("done").finish();
    expect((await busy).status).toBe(200);
  });
});

describe("stopping with a request stuck in the engine", () => {
  it("a second stop (cutOff) ends close() even when a handler never returns", async () => {
    const backend = new FakeBackend(readyStatus);
    backend.countTokens = () => new Promise<number>(() => {}); // a token count whose reply never comes
    const s = await startFakeServe(backend);
    const stuck = fetch(`${s.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "chatglm-6b", messages: [{ role: "user", content: "q" }] }) }).catch((e: unknown) => e);
    await waitFor(() => expect(s.runner.queue.running).toBe(true));
    const closed = s.server.close();
    s.server.cutOff();
    await closed;
    expect(await stuck).toBeInstanceOf(Error);
  });
});
