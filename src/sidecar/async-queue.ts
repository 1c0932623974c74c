// A one-consumer async queue: producers push values or fail it; the consumer iterates with for-await.

export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: () => void } | undefined;
  private error: unknown;
  private failed = false;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.failed) throw this.error;
      await new Promise<void>((resolve) => (this.waiter = { resolve }));
    }
  }
}
