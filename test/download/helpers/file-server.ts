// Loopback HTTP server for downloader tests: serves generated files with switchable faults and counts every byte sent.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Faults {
  /** Answer 503 to this many requests first. */
  errorTimes?: number;
  /** Close the connection after this many body bytes, for this many requests. */
  dropAfterBytes?: number;
  dropTimes?: number;
  /** Send headers, then nothing, for this many requests (Infinity: always). */
  stallTimes?: number;
  /** Answer Range requests with 200 and the whole file. */
  ignoreRange?: boolean;
  /** Override the ETag (e.g. an MD5 of other bytes); null sends none. */
  etag?: string | null;
  /** Flip one byte in every response whose range starts after 0. */
  corruptRanged?: boolean;
  /** Throttle every response to about this rate. */
  bytesPerSecond?: number;
}

export interface FileServer {
  /** Base URL whose relative paths are the file names. */
  base: string;
  port: number;
  faults: Faults;
  bytesServed: number;
  requests: { range: string | undefined; status: number }[];
  close(): Promise<void>;
}

export function makeContent(bytes: number): Buffer {
  return randomBytes(bytes);
}

export function md5Hex(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

export async function startFileServer(files: Record<string, Buffer>, prefix = "/glm/"): Promise<FileServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void handle(req, res));
  const state: FileServer = {
    base: "",
    port: 0,
    faults: {},
    bytesServed: 0,
    requests: [],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const f = state.faults;
    const name = decodeURIComponent((req.url ?? "").slice(prefix.length));
    const content = req.url?.startsWith(prefix) ? files[name] : undefined;
    const record = (status: number) => state.requests.push({ range: req.headers.range, status });
    if (!content) return void (record(404), res.writeHead(404).end("not found"));
    if ((f.errorTimes ?? 0) > 0) {
      f.errorTimes!--;
      return void (record(503), res.writeHead(503).end("busy"));
    }
    const etag = f.etag === undefined ? `"${md5Hex(content)}"` : f.etag;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    const ranged = m && !f.ignoreRange && (!ifRange || ifRange === etag);
    const from = ranged ? Number(m[1]) : 0;
    const to = ranged && m[2] ? Math.min(Number(m[2]), content.length - 1) : content.length - 1;
    const headers: Record<string, string | number> = { "content-length": to - from + 1, "accept-ranges": "bytes" };
    if (etag) headers.etag = etag;
    if (ranged) headers["content-range"] = `bytes ${from}-${to}/${content.length}`;
    record(ranged ? 206 : 200);
    res.writeHead(ranged ? 206 : 200, headers);
    if ((f.stallTimes ?? 0) > 0) {
      f.stallTimes!--;
      res.flushHeaders();
      return;
    }
    let body = content.subarray(from, to + 1);
    if (f.corruptRanged && from > 0) {
      body = Buffer.from(body);
      body[0] = (body[0] ?? 0) ^ 0xff;
    }
    const dropAt = (f.dropTimes ?? 0) > 0 && (f.dropAfterBytes ?? 0) < body.length ? (f.dropAfterBytes ?? 0) : Infinity;
    if (dropAt !== Infinity) f.dropTimes!--;
    await sendBody(res, body, dropAt, f.bytesPerSecond);
  }

  async function sendBody(res: ServerResponse, body: Buffer, dropAt: number, rate: number | undefined): Promise<void> {
    const chunk = rate ? Math.max(1024, Math.floor(rate / 50)) : 64 * 1024;
    for (let off = 0; off < body.length; off += chunk) {
      const end = Math.min(body.length, off + chunk, dropAt);
      if (res.destroyed) return;
      if (end <= off) return void res.socket?.destroy();
      const piece = body.subarray(off, end);
      state.bytesServed += piece.length;
      const ok = res.write(piece);
      if (rate) await new Promise((r) => setTimeout(r, (piece.length / rate) * 1000));
      else if (!ok) await new Promise((r) => res.once("drain", r));
    }
    if (dropAt < body.length) return void res.socket?.destroy();
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as AddressInfo).port;
  state.base = `http://127.0.0.1:${state.port}${prefix}`;
  return state;
}
