// `glm-chat serve`'s HTTP server on a FakeBackend, and a raw-socket client for requests fetch() will not send.
import { connect } from "node:net";
import { TokenCounter } from "../../src/chat/context-budget.ts";
import { DEFAULT_GENERATION_SETTINGS } from "../../src/chat/generation-settings.ts";
import { JobRunner } from "../../src/serve/chat-job.ts";
import { EngineQueue } from "../../src/serve/engine-queue.ts";
import { ApiServer } from "../../src/serve/http-server.ts";
import type { FakeBackend } from "../fakes/fake-backend.ts";

export interface FakeServe {
  server: ApiServer;
  port: number;
  url: string;
  logs: string[];
  counter: TokenCounter;
  runner: JobRunner;
}

export async function startFakeServe(backend: FakeBackend, options: { apiKey?: string; maxQueue?: number } = {}): Promise<FakeServe> {
  const counter = new TokenCounter((t) => backend.countTokens(t));
  const runner = new JobRunner(backend, counter, new EngineQueue(options.maxQueue ?? 16));
  const logs: string[] = [];
  const server = new ApiServer(
    { runner, defaults: DEFAULT_GENERATION_SETTINGS, status: () => backend.status(), startedAt: new Date(), version: "test", modelBytes: 0 },
    { apiKey: options.apiKey, log: (line) => logs.push(line) },
  );
  const { port } = await server.listen(0, "127.0.0.1");
  return { server, port, url: `http://127.0.0.1:${port}`, logs, counter, runner };
}

export interface RawResponse {
  /** The status of the first response, or undefined when the server closed without one. */
  status: number | undefined;
  text: string;
}

/** Writes `bytes` to a fresh connection and reads until the server closes it (send `Connection: close`). */
export function rawHttp(port: number, bytes: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? socket.emit("close") : reject(error)));
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), text });
    });
    socket.end(bytes);
  });
}
