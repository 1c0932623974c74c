// ChatBackend over the real sidecar: starts it on demand, streams answers, cancels, restarts after a crash.
import type { BackendStatus, ChatBackend, GenerateEvent, GenerateOptions, SamplingOptions } from "../chat/backend.ts";
import { newMessageId } from "../protocol/codec.ts";
import { isErrorContent, type Envelope, type GenerateReplyOk, type GenerateRequestContent } from "../protocol/messages.ts";
import { AsyncQueue } from "./async-queue.ts";
import { errorFromReply, SidecarError } from "./errors.ts";
import { REPLY_PROBE_MS, watchForLostReply } from "./reply-watch.ts";
import { Sidecar, type SidecarLaunch } from "./supervisor.ts";

const MAX_RESTARTS_IN_A_ROW = 5;

/** SamplingOptions as the wire names them. */
export function samplingContent(options: SamplingOptions = {}): Omit<GenerateRequestContent, "prompt"> {
  const wire: Omit<GenerateRequestContent, "prompt"> = {};
  if (options.doSample !== undefined) wire.do_sample = options.doSample;
  if (options.temperature !== undefined) wire.temperature = options.temperature;
  if (options.topP !== undefined) wire.top_p = options.topP;
  if (options.topK !== undefined) wire.top_k = options.topK;
  if (options.repetitionPenalty !== undefined) wire.repetition_penalty = options.repetitionPenalty;
  if (options.seed !== undefined) wire.seed = options.seed;
  return wire;
}

/** What the engine runs in (its own word where it reports one) and why; undefined when unknown. */
/** The status's precision: the engine's own (info) else the launch's, why, and how int8/int4 are multiplied. */
export function precisionOf(precision: string | undefined, reason: string | undefined, quantizedMatmul?: string | null): BackendStatus["precision"] {
  if (!precision || precision === "auto") return undefined;
  return { value: precision, reason: reason ?? `--precision ${precision}`, ...(quantizedMatmul === "dequantize" ? { decodedInGraph: true as const } : {}) };
}

export class SidecarBackend implements ChatBackend {
  private current: BackendStatus = { state: "stopped" };
  private readonly listeners = new Set<(status: BackendStatus) => void>();
  private sidecar: Sidecar | undefined;
  private starting: Promise<Sidecar> | undefined;
  private failuresInARow = 0;
  /** A load failure that a restart would repeat: every later start fails with it at once, loading nothing. */
  private lastingFailure: SidecarError | undefined;
  private closed = false;
  /** Aborted by close(): a sidecar still loading is stopped instead of waited for. */
  private readonly closing = new AbortController();

  constructor(
    private readonly launch: SidecarLaunch,
    private readonly sampling: SamplingOptions = {},
    /** Quiet time before the sidecar is asked whether it still has a request (see reply-watch.ts). */
    private readonly replyProbeMs = REPLY_PROBE_MS,
  ) {}

  status(): BackendStatus {
    return this.current;
  }

  onStatus(listener: (status: BackendStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setStatus(next: Partial<BackendStatus>, replace = false): void {
    this.current = replace ? (next as BackendStatus) : { ...this.current, ...next };
    for (const listener of this.listeners) listener(this.current);
  }

  /** Starts the sidecar unless it runs; resolves when its model is ready. */
  start(): Promise<Sidecar> {
    if (this.closed) return Promise.reject(new SidecarError("SIDECAR_STOPPED", "glm-chat is shutting down"));
    if (this.sidecar && !this.sidecar.exit) return Promise.resolve(this.sidecar);
    if (this.lastingFailure) return Promise.reject(this.lastingFailure);
    if (this.failuresInARow >= MAX_RESTARTS_IN_A_ROW) {
      return Promise.reject(new SidecarError("TOO_MANY_RESTARTS", `the engine failed ${this.failuresInARow} times in a row; not restarting it`));
    }
    // "starting" at once: the sidecar's own first status comes only after its sockets and launch plan are ready.
    if (!this.starting) this.setStatus({ state: "starting", detail: "starting the engine", stderrTail: undefined });
    this.starting ??= Sidecar.start(this.launch, (s) => this.setStatus({ ...s, stderrTail: undefined }), this.closing.signal)
      .then((sidecar) => {
        this.sidecar = sidecar;
        const info = sidecar.info;
        this.setStatus({
          state: "ready",
          detail: undefined,
          phase: undefined,
          progress: undefined,
          device: info ? `${info.device_target}:${info.device_id}` : undefined,
          engine: info ? `${info.engine} ${info.engine_version ?? ""}`.trim() + (info.mindspore_version ? ` / mindspore ${info.mindspore_version}` : "") : undefined,
          seqLength: info?.seq_length ?? undefined,
          precision: precisionOf(info?.precision ?? this.launch.precision, this.launch.precisionReason, info?.quantized_matmul),
          restartable: undefined,
        });
        void sidecar.exited.then(() => this.onExit(sidecar));
        return sidecar;
      })
      .catch((error: unknown) => {
        this.failuresInARow += 1;
        const e = error as SidecarError;
        if (e.isLasting) this.lastingFailure = e;
        this.setStatus({ state: "crashed", detail: e.message, stderrTail: e.stderrTail, logPath: e.logPath, restartable: !e.isLasting });
        throw error;
      })
      .finally(() => (this.starting = undefined));
    return this.starting;
  }

  private onExit(sidecar: Sidecar): void {
    if (this.sidecar !== sidecar) return;
    this.sidecar = undefined;
    if (this.closed) return;
    this.failuresInARow += 1;
    const e = sidecar.exitError("");
    this.setStatus({ state: "crashed", detail: e.message.trim(), stderrTail: e.stderrTail, logPath: e.logPath, restartable: true });
  }

  async *generate(prompt: string, options: GenerateOptions = {}): AsyncIterable<GenerateEvent> {
    const { signal } = options;
    const cancelled = (): GenerateEvent => ({ type: "done", reason: "cancelled", usage: { promptTokens: 0, completionTokens: 0 }, timings: { firstTokenMs: 0, totalMs: 0 } });
    // Ctrl+C while the model loads cancels this answer at once; the load itself goes on.
    const sidecar = await untilAborted(this.start(), signal);
    if (!sidecar || signal?.aborted) return yield cancelled();
    const content: GenerateRequestContent = { ...samplingContent({ ...this.sampling, ...options.sampling }), prompt };
    if (options.maxNewTokens) content.max_new_tokens = options.maxNewTokens;
    const msgId = newMessageId(); // replies name it as their parent_id; the connection builds the envelope
    const queue = new AsyncQueue<Envelope>();
    const unsubscribe = sidecar.connection.onMessage((_channel, message) => {
      if (message.parent_id === msgId) queue.push(message);
    });
    const offExit = sidecar.onExit(() => queue.fail(sidecar.exitError("during the answer")));
    const watch = watchForLostReply(sidecar.connection, msgId, (error) => queue.fail(error), this.replyProbeMs);
    const onAbort = () => void sidecar.connection.send("control", "interrupt_request", { target_id: msgId }).catch(() => {});
    signal?.addEventListener("abort", onAbort, { once: true });
    this.setStatus({ state: "busy" });
    try {
      await sendTo(sidecar, "shell", "generate_request", content as unknown as Record<string, unknown>, msgId);
      for await (const message of queue) {
        if (message.msg_type === "token") {
          yield { type: "delta", text: String((message.content as { text?: unknown }).text ?? "") };
        } else if (message.msg_type === "protocol_error") {
          throw refusedError(message);
        } else if (message.msg_type === "generate_reply") {
          if (isErrorContent(message.content)) throw errorFromReply(message.content, "ENGINE_ERROR");
          const reply = message.content as unknown as GenerateReplyOk;
          this.failuresInARow = 0;
          yield {
            type: "done",
            reason: reply.done_reason,
            usage: { promptTokens: reply.usage.prompt_tokens, completionTokens: reply.usage.completion_tokens },
            timings: { firstTokenMs: reply.timings.first_token_ms, totalMs: reply.timings.total_ms },
          };
          return;
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      unsubscribe();
      offExit();
      watch.stop();
      if (this.sidecar === sidecar && !sidecar.exit) this.setStatus({ state: "ready" });
    }
  }

  /** Counts the tokens of a text with the loaded model's tokenizer. */
  async countTokens(text: string): Promise<number> {
    const sidecar = await this.start();
    const msgId = newMessageId();
    const reply = await new Promise<Envelope>((resolve, reject) => {
      const done = () => (off(), offExit(), watch.stop());
      const off = sidecar.connection.onMessage((_c, m) => m.parent_id === msgId && (done(), resolve(m)));
      const offExit = sidecar.onExit(() => (done(), reject(sidecar.exitError("while counting tokens"))));
      const watch = watchForLostReply(sidecar.connection, msgId, (error) => (done(), reject(error)), this.replyProbeMs);
      sendTo(sidecar, "shell", "tokenize_request", { text }, msgId).catch((e: unknown) => (done(), reject(e)));
    });
    if (reply.msg_type === "protocol_error") throw refusedError(reply);
    if (isErrorContent(reply.content)) throw errorFromReply(reply.content, "ENGINE_ERROR");
    return (reply.content as { count: number }).count;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.setStatus({ state: "stopping" });
    const sidecar = this.sidecar ?? (await this.starting?.catch(() => undefined));
    await sidecar?.stop();
    this.setStatus({ state: "stopped" });
  }
}

/** A protocol_error the sidecar sent for one of our requests: it could not read the frame. */
function refusedError(message: Envelope): SidecarError {
  const content = message.content as { ename?: unknown; evalue?: unknown };
  return new SidecarError("SIDECAR_PROTOCOL_ERROR", `the engine refused the request's frame: ${String(content.ename)}: ${String(content.evalue)}`, { ename: String(content.ename) });
}

/** Resolves with the promise's value, or undefined as soon as the signal fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Sends, turning a refused send (the peer is gone) into the sidecar's exit error once its exit is known. */
async function sendTo(sidecar: Sidecar, channel: "shell" | "control", type: string, content: Record<string, unknown>, id: string): Promise<void> {
  try {
    await sidecar.connection.send(channel, type, content, id);
  } catch (cause) {
    const exited = await Promise.race([sidecar.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
    if (exited) throw sidecar.exitError(`before it got the ${type}`);
    throw new SidecarError("SIDECAR_EXITED", `the engine did not take the ${type}: ${(cause as Error).message}`, { cause });
  }
}
