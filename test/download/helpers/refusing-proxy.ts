// A local HTTP proxy that refuses everything with 403 (CONNECT and plain requests), for proxy error tests.
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export async function startRefusingProxy(): Promise<{ url: string; hits: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const proxy = { url: "", hits: 0, close: async () => undefined as void };
  const server = createServer((_req, res) => {
    proxy.hits++;
    res.writeHead(403).end("forbidden by proxy");
  });
  server.on("connect", (_req, socket: Socket) => {
    proxy.hits++;
    socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
