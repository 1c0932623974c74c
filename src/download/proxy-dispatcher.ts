// Routes each request direct or through HTTP(S)_PROXY, honouring NO_PROXY: undici's stable Agent and ProxyAgent, chosen per origin.
import { Agent, Dispatcher, ProxyAgent } from "undici";

export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

/**
 * curl's NO_PROXY rules, as undici's EnvHttpProxyAgent applies them: entries split on commas or
 * spaces, `*` alone means never proxy, `host` matches exactly, `.host` or `*.host` match the host
 * and its subdomains by suffix, and `host:port` only that port.
 */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const entries = noProxy.split(/[,\s]/).filter(Boolean);
  if (entries.includes("*")) return true;
  const host = url.host.replace(/:\d*$/, "").toLowerCase();
  const port = Number.parseInt(url.port, 10) || DEFAULT_PORTS[url.protocol] || 0;
  return entries.some((entry) => {
    const m = /^(.+):(\d+)$/.exec(entry);
    const name = (m ? m[1]! : entry).toLowerCase();
    if (m && Number(m[2]) !== port) return false;
    return /^[.*]/.test(name) ? host.endsWith(name.replace(/^\*/, "")) : host === name;
  });
}

/** A dispatcher that picks, per request, a direct Agent or the ProxyAgent for the URL's scheme. */
export class ProxyRoutingDispatcher extends Dispatcher {
  readonly #direct = new Agent();
  /** One ProxyAgent per distinct proxy URL. */
  readonly #proxies = new Map<string, Dispatcher>();

  constructor(readonly settings: ProxySettings) {
    super();
    for (const uri of [settings.httpProxy, settings.httpsProxy]) {
      if (uri && !this.#proxies.has(uri)) this.#proxies.set(uri, new ProxyAgent(uri));
    }
  }

  /** The proxy a request to `origin` goes through (HTTPS falls back to HTTP_PROXY), or null: direct. */
  proxyFor(origin: string | URL): string | null {
    const url = new URL(origin);
    if (bypassesProxy(url, this.settings.noProxy)) return null;
    const { httpProxy, httpsProxy } = this.settings;
    return (url.protocol === "https:" ? httpsProxy || httpProxy : httpProxy) || null;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    const proxy = this.proxyFor(options.origin!);
    return (proxy === null ? this.#direct : this.#proxies.get(proxy)!).dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all(this.#all().map((d) => d.close())).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === "function" ? null : (a ?? null);
    const callback = typeof a === "function" ? a : b;
    const done = Promise.all(this.#all().map((d) => d.destroy(err))).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }

  #all(): Dispatcher[] {
    return [this.#direct, ...this.#proxies.values()];
  }
}
