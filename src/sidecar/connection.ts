// The UI's end of the wire: two ROUTER sockets bound on ipc:// in a private 0700 directory, signed frames.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dealer, Router } from "zeromq";
import { decodeFrames, encodeFrames, makeEnvelope } from "../protocol/codec.ts";
import type { Envelope } from "../protocol/messages.ts";

export type Channel = "shell" | "control";

/** Unix socket paths are limited to about 107 bytes; a longer TMPDIR falls back to loopback TCP. */
const MAX_IPC_PATH = 100;
export type MessageListener = (channel: Channel, message: Envelope) => void;

export class SidecarConnection {
  /** Frames dropped for a bad signature or shape; never acted on. */
  dropped = 0;
  private readonly peers = new Map<Channel, Buffer>();
  private readonly sending = new Map<Channel, Promise<unknown>>();
  private readonly listeners = new Set<MessageListener>();
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly key: Buffer,
    private readonly sockets: Record<Channel, Router>,
    /** Bound DEALER whose pings the sidecar echoes (see HeartbeatMonitor). */
    readonly heartbeat: Dealer,
    private readonly endpoints: Record<string, string>,
    readonly session: string,
  ) {
    for (const channel of ["shell", "control"] as const) void this.receiveLoop(channel);
  }

  static async open(): Promise<SidecarConnection> {
    const dir = await mkdtemp(join(tmpdir(), "glm-chat-")); // mkdtemp makes it 0700, owned by us
    // mandatory: a full queue to the sidecar makes send wait instead of dropping the message silently
    const sockets = { shell: new Router({ linger: 0, mandatory: true }), control: new Router({ linger: 0, mandatory: true }) };
    const heartbeat = new Dealer({ linger: 0, sendTimeout: 0 });
    const useIpc = join(dir, "heartbeat").length <= MAX_IPC_PATH;
    const endpoints: Record<string, string> = {};
    try {
      for (const [name, socket] of [...Object.entries(sockets), ["heartbeat", heartbeat] as const]) {
        await socket.bind(useIpc ? `ipc://${join(dir, name)}` : "tcp://127.0.0.1:*");
        endpoints[name] = socket.lastEndpoint ?? "";
      }
    } catch (error) {
      for (const socket of [...Object.values(sockets), heartbeat]) socket.close();
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return new SidecarConnection(dir, randomBytes(32), sockets, heartbeat, endpoints, randomBytes(16).toString("hex"));
  }

  /** The address the sidecar connects to: ipc:// in the private dir, or 127.0.0.1 when the path is too long. */
  endpoint(channel: Channel | "heartbeat"): string {
    return this.endpoints[channel] ?? "";
  }

  /** True once the sidecar has said hello on this channel. */
  connected(channel: Channel): boolean {
    return this.peers.has(channel);
  }

  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends a new message; returns its msg_id. Sends on one socket are serialised (zeromq allows one at a time). */
  send(channel: Channel, msgType: string, content: Record<string, unknown>, msgId?: string): Promise<string> {
    const envelope = makeEnvelope(msgType, content, this.session);
    if (msgId) envelope.msg_id = msgId;
    const peer = this.peers.get(channel);
    if (!peer) return Promise.reject(new Error(`sidecar has not connected its ${channel} channel`));
    const frames = [peer, ...encodeFrames(envelope, this.key)];
    const previous = this.sending.get(channel) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.sockets[channel].send(frames));
    this.sending.set(channel, next);
    return next.then(() => envelope.msg_id);
  }

  /** Idempotent: closes both sockets and removes the ipc directory. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      for (const socket of [...Object.values(this.sockets), this.heartbeat]) socket.close();
      this.closing = rm(this.dir, { recursive: true, force: true });
    }
    return this.closing;
  }

  private async receiveLoop(channel: Channel): Promise<void> {
    try {
      for await (const [peer, ...frames] of this.sockets[channel]) {
        let message: Envelope;
        try {
          message = decodeFrames(frames, this.key);
        } catch {
          this.dropped += 1;
          continue;
        }
        if (peer) this.peers.set(channel, peer);
        for (const listener of this.listeners) listener(channel, message);
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }
}
