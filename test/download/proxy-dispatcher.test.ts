// Proxy routing: NO_PROXY matching, which proxy a URL goes through, and no experimental-API warning on the terminal.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createDispatcher, httpGet } from "../../src/download/http-source.ts";
import { bypassesProxy, ProxyRoutingDispatcher } from "../../src/download/proxy-dispatcher.ts";

describe("NO_PROXY", () => {
  it.each([
    ["http://mirror.lan/glm/", "", false],
    ["http://mirror.lan/glm/", "*", true],
    ["http://mirror.lan/glm/", "other.lan, mirror.lan", true],
    ["http://MIRROR.lan/glm/", "mirror.LAN", true],
    ["http://a.mirror.lan/", "mirror.lan", false],
    ["http://a.mirror.lan/", ".mirror.lan", true],
    ["http://a.mirror.lan/", "*.mirror.lan", true],
    ["http://127.0.0.1:8080/", "127.0.0.1", true],
    ["http://127.0.0.1:8080/", "127.0.0.1:8080", true],
    ["http://127.0.0.1:8080/", "127.0.0.1:9090", false],
    ["https://obs.example/", "obs.example:443", true],
    ["http://[::1]:8080/", "[::1]", true],
  ])("%s with NO_PROXY=%j: bypass %s", (url, noProxy, bypass) => {
    expect(bypassesProxy(new URL(url), noProxy)).toBe(bypass);
  });
});

describe("ProxyRoutingDispatcher", () => {
  it("sends each scheme to its proxy, HTTPS falling back to HTTP_PROXY, NO_PROXY direct", async () => {
    const both = new ProxyRoutingDispatcher({ httpProxy: "http://p:3128", httpsProxy: "http://s:3129", noProxy: "local.lan" });
    const httpOnly = new ProxyRoutingDispatcher({ httpProxy: "http://p:3128", httpsProxy: "", noProxy: "" });
    const none = new ProxyRoutingDispatcher({ httpProxy: "", httpsProxy: "", noProxy: "" });
    try {
      expect(both.proxyFor("http://obs.example/f")).toBe("http://p:3128");
      expect(both.proxyFor("https://obs.example/f")).toBe("http://s:3129");
      expect(both.proxyFor("https://local.lan/f")).toBeNull();
      expect(httpOnly.proxyFor("https://obs.example/f")).toBe("http://p:3128");
      expect(none.proxyFor("https://obs.example/f")).toBeNull();
    } finally {
      await Promise.all([both.close(), httpOnly.close(), none.close()]);
    }
  });

  it("follows a redirect (object stores send 302s to a signed URL) and answers ranged GETs", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/glm/f") return void res.writeHead(302, { location: "/signed/f?sig=1" }).end();
      res.writeHead(206, { "content-range": "bytes 0-0/10", "content-length": 1 }).end("x");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const dispatcher = createDispatcher({ HTTP_PROXY: "http://127.0.0.1:9", NO_PROXY: "127.0.0.1" });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/glm/f`;
      const res = await httpGet(url, { dispatcher, signal: new AbortController().signal, headersTimeoutMs: 5000, range: { from: 0, to: 0 } });
      expect(res.statusCode).toBe(206);
      expect(await res.body.text()).toBe("x");
    } finally {
      await dispatcher.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("prints no warning (undici's EnvHttpProxyAgent says it is experimental)", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const dispatcher = createDispatcher({ HTTPS_PROXY: "http://p:3128", NO_PROXY: "localhost" });
      await new Promise((resolve) => setImmediate(resolve));
      await dispatcher.destroy();
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });
});
