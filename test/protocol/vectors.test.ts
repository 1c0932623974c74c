// The shared wire vectors (test/fixtures/protocol/vectors.json), checked against the TypeScript half.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeBody, decodeFrames, encodeFrames, makeEnvelope, ProtocolError, sign } from "../../src/protocol/codec.ts";
import { MESSAGE_TYPES, memoryReportOf, type Envelope } from "../../src/protocol/messages.ts";

interface Vectors {
  message_types: string[];
  valid: Array<{ name: string; hex: string; decoded: Record<string, unknown> }>;
  invalid: Array<{ name: string; hex: string; code: string }>;
  signed: { key_hex: string; body_hex: string; signature_hex: string };
  sanitized: { decoded: Envelope; text_utf16_hex: string; hex: string };
}

const vectors = JSON.parse(
  readFileSync(new URL("../fixtures/protocol/vectors.json", import.meta.url), "utf8"),
) as Vectors;
const hex = (s: string) => Buffer.from(s, "hex");

describe("protocol vectors", () => {
  it("both halves know the same message types", () => {
    expect([...MESSAGE_TYPES]).toEqual(vectors.message_types);
  });

  it("every message type has a valid vector", () => {
    const covered = new Set(vectors.valid.map((v) => v.decoded.msg_type));
    expect(MESSAGE_TYPES.filter((t) => !covered.has(t))).toEqual([]);
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))("decodes valid: %s", (_name, vector) => {
    expect(decodeBody(hex(vector.hex))).toEqual(vector.decoded);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))("refuses invalid: %s", (_name, vector) => {
    let error: unknown;
    try {
      decodeBody(hex(vector.hex));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(vector.code);
  });

  it("checks signatures", () => {
    const { key_hex, body_hex, signature_hex } = vectors.signed;
    expect(sign(hex(key_hex), hex(body_hex)).toString("hex")).toBe(signature_hex);
    expect(decodeFrames([hex(signature_hex), hex(body_hex)], hex(key_hex)).msg_type).toBe("token");
    expect(() => decodeFrames([Buffer.alloc(32), hex(body_hex)], hex(key_hex))).toThrow(/signature/);
    expect(() => decodeFrames([Buffer.alloc(3), hex(body_hex)], hex(key_hex))).toThrow(/signature/);
  });

  it("reads the RSS from the memory and status vectors that carry one (64-bit sizes), nothing from the rest", () => {
    const reports = vectors.valid.map((v) => [v.name, memoryReportOf(decodeBody(hex(v.hex)))] as const).filter(([, r]) => r);
    expect(Object.fromEntries(reports)).toEqual({
      "status loading with memory": { rssBytes: 4_500_000_000, rssPeakBytes: 4_600_000_000 },
      "memory while loading": { rssBytes: 1_250_000_000, rssPeakBytes: 1_300_000_000 },
      "memory while answering": { rssBytes: 14_500_000_000, rssPeakBytes: 15_100_000_000 },
    });
  });

  it("sends lone surrogates as U+FFFD (the string the sidecar once dropped without a reply), pairs as their character", () => {
    const { decoded, text_utf16_hex, hex: expected } = vectors.sanitized;
    const units = hex(text_utf16_hex);
    const text = String.fromCharCode(...Array.from({ length: units.length / 2 }, (_, i) => units.readUInt16BE(2 * i)));
    expect(text.length).toBe(6);
    const [, body] = encodeFrames({ ...decoded, content: { text } }, Buffer.from("k"));
    expect(body.toString("hex")).toBe(expected);
    expect(decodeBody(body)).toEqual(decoded);
  });

  it("round-trips what it encodes", () => {
    const key = Buffer.from("k");
    const envelope = makeEnvelope("token", { text: "你好\n" }, "s", "p");
    expect(decodeFrames(encodeFrames(envelope, key), key)).toEqual(envelope);
  });
});
