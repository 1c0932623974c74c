// Encodes and decodes protocol v1 frames: [HMAC-SHA256 signature, msgpack envelope]. No I/O.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { decode, encode } from "@msgpack/msgpack";
import { PROTOCOL_VERSION, type Envelope } from "./messages.ts";

export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export type ProtocolErrorCode =
  | "FRAME_COUNT"
  | "BAD_SIGNATURE"
  | "FRAME_TOO_LARGE"
  | "FRAME_NOT_MSGPACK"
  | "ENVELOPE_NOT_MAP"
  | "ENVELOPE_FIELD"
  | "VERSION_MISMATCH";

export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ProtocolError";
  }
}

/** A new msg_id: 32 hex digits (a UUID without its dashes). */
export function newMessageId(): string {
  return randomUUID().replaceAll("-", "");
}

export function makeEnvelope<C extends Record<string, unknown>>(
  msgType: string,
  content: C,
  session: string,
  parentId: string | null = null,
): Envelope<C> {
  return {
    v: PROTOCOL_VERSION,
    msg_id: newMessageId(),
    msg_type: msgType,
    parent_id: parentId,
    session,
    ts: Date.now() / 1000,
    content,
  };
}

export function sign(key: Buffer, body: Uint8Array): Buffer {
  return createHmac("sha256", key).update(body).digest();
}

/**
 * Envelope to [signature, body]. The one place frames are made: every string (map keys too) goes out
 * as valid UTF-8, a lone surrogate as U+FFFD (msgpack's own encoder writes short strings' surrogates as
 * CESU-8, which the sidecar's decoder refuses).
 */
export function encodeFrames(envelope: Envelope<Record<string, unknown>>, key: Buffer): [Buffer, Buffer] {
  const body = Buffer.from(encode(wellFormed(envelope)));
  return [sign(key, body), body];
}

/** ES2024's String methods (Node 20 has them; the project's TS lib predates them). */
interface Es2024String {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
const isWellFormed = (s: string) => (s as unknown as Es2024String).isWellFormed();

/** `value` with every string made well-formed UTF-16 (lone surrogates become U+FFFD); others as they are. */
export function wellFormed<T>(value: T): T {
  if (typeof value === "string") return (isWellFormed(value) ? value : (value as unknown as Es2024String).toWellFormed()) as T;
  if (Array.isArray(value)) return value.map(wellFormed) as T;
  if (isPlainMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[wellFormed(k)] = wellFormed(v);
    return out as T;
  }
  return value;
}

/** True when a decoded value holds a string that was not valid UTF-8 (msgpack's decoder leaves lone surrogates). */
function hasIllFormedString(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return !isWellFormed(value);
  if (depth > 64 || typeof value !== "object" || value === null || value instanceof Uint8Array) return false;
  const entries = Array.isArray(value) ? value : Object.entries(value).flat();
  return entries.some((v) => hasIllFormedString(v, depth + 1));
}

/** Msgpack bytes to a validated envelope (no signature check; see decodeFrames). */
export function decodeBody(body: Uint8Array): Envelope {
  if (body.byteLength > MAX_FRAME_BYTES) {
    throw new ProtocolError("FRAME_TOO_LARGE", `frame of ${body.byteLength} bytes`);
  }
  let value: unknown;
  try {
    value = decode(body, { mapKeyConverter: stringKey });
  } catch (cause) {
    throw new ProtocolError("FRAME_NOT_MSGPACK", "body is not valid msgpack", { cause });
  }
  if (hasIllFormedString(value)) throw new ProtocolError("FRAME_NOT_MSGPACK", "a string in the body is not valid UTF-8");
  return validateEnvelope(value);
}

/** Map keys must be strings, as the Python half's decoder (strict_map_key) insists. */
function stringKey(key: unknown): string {
  if (typeof key !== "string") throw new TypeError(`a map key is a ${typeof key}, not a string`);
  return key;
}

/** [signature, body] frames to an envelope; throws ProtocolError for anything else. */
export function decodeFrames(frames: Uint8Array[], key: Buffer): Envelope {
  if (frames.length !== 2) throw new ProtocolError("FRAME_COUNT", `expected 2 frames, got ${frames.length}`);
  const [signature, body] = frames as [Uint8Array, Uint8Array];
  const expected = sign(key, body);
  if (signature.byteLength !== expected.byteLength || !timingSafeEqual(signature, expected)) {
    throw new ProtocolError("BAD_SIGNATURE", "signature does not match");
  }
  return decodeBody(body);
}

const FIELD_TYPES: Array<[keyof Envelope, "number" | "string" | "object"]> = [
  ["v", "number"],
  ["msg_id", "string"],
  ["msg_type", "string"],
  ["session", "string"],
  ["ts", "number"],
  ["content", "object"],
];

export function validateEnvelope(value: unknown): Envelope {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ProtocolError("ENVELOPE_NOT_MAP", "envelope is not a map");
  }
  const record = value as Record<string, unknown>;
  for (const [name, kind] of FIELD_TYPES) {
    const field = record[name];
    const ok = kind === "object" ? isPlainMap(field) : typeof field === kind;
    if (!ok) throw new ProtocolError("ENVELOPE_FIELD", `envelope field '${name}' is missing or has the wrong type`);
  }
  const parent = record.parent_id;
  if (parent !== undefined && parent !== null && typeof parent !== "string") {
    throw new ProtocolError("ENVELOPE_FIELD", "envelope field 'parent_id' has the wrong type");
  }
  if (record.v !== PROTOCOL_VERSION) {
    throw new ProtocolError("VERSION_MISMATCH", `protocol version ${String(record.v)}, expected ${PROTOCOL_VERSION}`);
  }
  return { ...(record as unknown as Envelope), parent_id: (parent as string | null | undefined) ?? null };
}

function isPlainMap(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
