// Bounded property-based fuzzing in `npm test` (fixed seed, few runs); scripts/fuzz-serve.ts runs many more.
import { describe, it } from "vitest";
import { fuzzCodecDecode, fuzzCodecRoundTrip, fuzzServeJsonBodies, fuzzServeRequestLines } from "./serve-fuzz-cases.ts";

const SEED = 22;

describe("fuzzing serve (fake engine) and the codec", () => {
  it("any JSON body at any endpoint gets a non-5xx answer in the API's error shape, never reaches the engine with what it refuses, and the next request is served", async () => {
    await fuzzServeJsonBodies({ numRuns: 150, seed: SEED });
  }, 120_000);

  it("any request line, headers and body get an answer or a closed connection, and the next request is served", async () => {
    await fuzzServeRequestLines({ numRuns: 100, seed: SEED });
  }, 120_000);

  it("with an API key, nothing but /health succeeds without it", async () => {
    await fuzzServeRequestLines({ numRuns: 60, seed: SEED + 1 }, "fuzz-key");
  }, 120_000);

  it("the codec round-trips any content (strings made well-formed) and decodes any bytes to an envelope or a ProtocolError", () => {
    fuzzCodecRoundTrip({ numRuns: 300, seed: SEED });
    fuzzCodecDecode({ numRuns: 300, seed: SEED });
  });
});
