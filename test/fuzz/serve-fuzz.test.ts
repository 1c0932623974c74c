// Property-based fuzzing of serve and the codec: a fixed seed and few runs in `npm test`; scripts/fuzz-serve.ts sets GLM_CHAT_FUZZ_RUNS/SEED for many more.
import { describe, it } from "vitest";
import { fuzzCodecDecode, fuzzCodecRoundTrip, fuzzServeJsonBodies, fuzzServeRequestLines } from "./serve-fuzz-cases.ts";

const runs = Number(process.env.GLM_CHAT_FUZZ_RUNS ?? 0);
const seed = Number(process.env.GLM_CHAT_FUZZ_SEED ?? 22);
/** `n` cases in npm test; GLM_CHAT_FUZZ_RUNS when the script asks for more. */
const cases = (n: number) => (runs > 0 ? runs : n);

describe("fuzzing serve (fake engine) and the codec", () => {
  it("any JSON body at any endpoint gets a non-5xx answer in the API's error shape, never reaches the engine with what it refuses, and the next request is served", async () => {
    await fuzzServeJsonBodies({ numRuns: cases(150), seed });
  }, 120_000);

  it("any request line, headers and body get an answer or a closed connection, and the next request is served", async () => {
    await fuzzServeRequestLines({ numRuns: cases(100), seed });
  }, 120_000);

  it("with an API key, nothing but /health succeeds without it", async () => {
    await fuzzServeRequestLines({ numRuns: cases(60), seed: seed + 1 }, "fuzz-key");
  }, 120_000);

  it("the codec round-trips any content (strings made well-formed) and decodes any bytes to an envelope or a ProtocolError", () => {
    fuzzCodecRoundTrip({ numRuns: cases(300), seed });
    fuzzCodecDecode({ numRuns: cases(300), seed });
  });
});
