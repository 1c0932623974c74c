// Pings the sidecar's heartbeat echo and calls onDead when no echo came back within the time-to-dead.
import type { Dealer } from "zeromq";

export interface HeartbeatOptions {
  intervalMs: number;
  timeToDeadMs: number;
}

export class HeartbeatMonitor {
  private lastEcho = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private count = 0;

  constructor(
    private readonly socket: Dealer,
    private readonly options: HeartbeatOptions,
    private readonly onDead: (silentMs: number) => void,
  ) {}

  start(): void {
    this.lastEcho = Date.now();
    void this.receiveLoop();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Milliseconds since the last echo. */
  silentMs(): number {
    return Date.now() - this.lastEcho;
  }

  private tick(): void {
    if (this.stopped) return;
    const silent = this.silentMs();
    if (silent > this.options.timeToDeadMs) {
      this.stop();
      this.onDead(silent);
      return;
    }
    const ping = Buffer.alloc(8);
    ping.writeBigUInt64BE(BigInt(++this.count));
    // A full queue (the peer is gone or frozen) refuses at once: that is what the silence measures.
    this.socket.send(ping).catch(() => {});
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const _frames of this.socket) {
        if (this.stopped) return;
        this.lastEcho = Date.now();
      }
    } catch {
      // the socket closed
    }
  }
}
