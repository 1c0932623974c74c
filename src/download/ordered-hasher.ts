// Hashes a download while it is written: a worker thread reads the file up to the contiguous frontier.
import { Worker } from "node:worker_threads";

export type DigestAlgorithm = "sha256" | "md5";

/**
 * Bytes are hashed in file order as soon as every byte before them is on disk. Parts finish in
 * roughly file order (small parts handed out in order), so the frontier trails the download by
 * about one part per connection; the reads hit the page cache. After the last byte only that
 * trailing window is left to hash. The hashing runs in its own thread so it never slows the
 * sockets, and a resume simply re-reads the bytes that are already there.
 */
export class OrderedHasher {
  #worker: Worker;
  #hashed = 0;
  #result: Promise<string>;

  constructor(path: string, readonly algorithm: DigestAlgorithm, onHashed?: (bytes: number) => void) {
    this.#worker = new Worker(new URL("./hash-worker.mjs", import.meta.url), {
      workerData: { path, algorithm, chunkBytes: 4 * 1024 * 1024 },
    });
    this.#result = new Promise<string>((resolve, reject) => {
      this.#worker.on("message", (msg: { hashed: number; digest?: string }) => {
        this.#hashed = msg.hashed;
        onHashed?.(msg.hashed);
        if (msg.digest !== undefined) resolve(msg.digest);
      });
      this.#worker.on("error", reject);
      this.#worker.on("exit", (code) => reject(new Error(`hash worker exited (${code}) before the digest`)));
    });
    this.#result.catch(() => undefined);
  }

  get hashedBytes(): number {
    return this.#hashed;
  }

  /** Everything before `frontier` is on disk and may be hashed. */
  advance(frontier: number): void {
    this.#worker.postMessage({ frontier, final: false });
  }

  /** The whole file (`size` bytes) is on disk: resolves with the hex digest once it is hashed. */
  async finish(size: number): Promise<string> {
    this.#worker.postMessage({ frontier: size, final: true });
    try {
      return await this.#result;
    } finally {
      await this.#worker.terminate();
    }
  }

  async abort(): Promise<void> {
    await this.#worker.terminate();
  }
}
