// The message types of protocol v1 and their contents (docs/protocol.md); names match the Python half.

export const PROTOCOL_VERSION = 1;

/** Every message type of protocol v1; adding one here without test vectors fails the contract tests. */
export const MESSAGE_TYPES = [
  "hello",
  "status",
  "info_request",
  "info_reply",
  "generate_request",
  "token",
  "generate_reply",
  "tokenize_request",
  "tokenize_reply",
  "interrupt_request",
  "interrupt_reply",
  "shutdown_request",
  "shutdown_reply",
  "memory",
  "protocol_error",
] as const;

export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface Envelope<C = Record<string, unknown>> {
  v: number;
  msg_id: string;
  msg_type: string;
  parent_id: string | null;
  session: string;
  ts: number;
  content: C;
}

export interface ErrorContent {
  status: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface HelloContent {
  protocol_version: number;
  pid: number;
  channel: "shell" | "control";
  engine: string;
}

export interface StatusContent {
  state: "loading" | "ready" | "failed";
  phase: string;
  progress?: number | null;
  detail?: string | null;
  elapsed_s: number;
  info?: InfoContent;
  ename?: string;
  evalue?: string;
  /** The sidecar's VmRSS and VmHWM (Linux only), as in `memory`. */
  rss_bytes?: number;
  rss_peak_bytes?: number;
}

/** `memory`: the sidecar's resident set, about once a second while it loads or answers (Linux only). */
export interface MemoryContent {
  rss_bytes: number;
  rss_peak_bytes: number;
}

export interface InfoContent {
  engine: string;
  engine_version: string | null;
  mindspore_version: string | null;
  device_target: string;
  device_id: number;
  seq_length: number | null;
  /** The native engine's weights: float32, float16, int8 or int4 (MindFormers: absent). */
  precision?: string;
  /** int8/int4: "kernels" (CPU) or "dequantize" (Ascend/GPU: each matrix decoded inside the graph); else null. */
  quantized_matmul?: string | null;
  /** How the native engine's KV cache stores keys and values: "int8" (int8/int4 on CPU: codes and a scale per row and
   * head), else the compute dtype. */
  kv_cache?: string | null;
  /** Set when --engine auto ran the native engine, with the reason MindFormers was not used. */
  engine_fallback?: string;
  /** `--quantize-only` (glm-chat quantize): the copy found or made at load. */
  quantized_copy?: QuantizedCopyInfo;
}

/** The int8/int4 copy of glm_6b.ckpt that a `--quantize-only` sidecar found (made false) or made. */
export interface QuantizedCopyInfo {
  path: string;
  bytes: number;
  precision: string;
  checkpoint: string;
  made: boolean;
  seconds: number;
}

export interface GenerateRequestContent {
  prompt: string;
  max_new_tokens?: number;
  do_sample?: boolean;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  repetition_penalty?: number;
  seed?: number;
}

export interface TokenContent {
  text: string;
}

export interface GenerateReplyOk {
  status: "ok" | "aborted";
  done_reason: "stop" | "length" | "cancelled";
  usage: { prompt_tokens: number; completion_tokens: number };
  timings: { first_token_ms: number; total_ms: number };
}

export type GenerateReplyContent = GenerateReplyOk | ErrorContent;

/**
 * `protocol_error`: the sidecar's answer to a frame it refused (bad signature, not msgpack, bad UTF-8,
 * bad envelope); `ename` is the decode error's code, `parent_id` the refused frame's msg_id where readable.
 */
export interface ProtocolErrorContent extends ErrorContent {
  refused_msg_type: string | null;
}

/** The RSS a `memory` or `status` message reports, or undefined where it carries none (an older sidecar, not Linux). */
export function memoryReportOf(message: Envelope): { rssBytes: number; rssPeakBytes: number } | undefined {
  if (message.msg_type !== "memory" && message.msg_type !== "status") return undefined;
  const c = message.content as Partial<MemoryContent>;
  if (typeof c.rss_bytes !== "number" || !Number.isFinite(c.rss_bytes)) return undefined;
  return { rssBytes: c.rss_bytes, rssPeakBytes: typeof c.rss_peak_bytes === "number" ? c.rss_peak_bytes : c.rss_bytes };
}

export function isErrorContent(content: unknown): content is ErrorContent {
  const c = content as Partial<ErrorContent> | null;
  return typeof c === "object" && c !== null && c.status === "error" && typeof c.ename === "string";
}
