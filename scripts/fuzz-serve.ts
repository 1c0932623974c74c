// Long fuzzing of `serve` (fake engine) and the wire codec: `npx tsx scripts/fuzz-serve.ts [RUNS] [SEED]` (default 5000 runs, a random seed).
import { fuzzCodecDecode, fuzzCodecRoundTrip, fuzzServeJsonBodies, fuzzServeRequestLines } from "../test/fuzz/serve-fuzz-cases.ts";

const runs = Number(process.argv[2] ?? 5000);
const seed = process.argv[3] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.argv[3]);
const say = (line: string) => process.stdout.write(`[fuzz-serve] ${line}\n`);
say(`${runs} runs per property, seed ${seed} (rerun with: npx tsx scripts/fuzz-serve.ts ${runs} ${seed})`);

const properties: Array<[string, () => Promise<void> | void]> = [
  ["JSON bodies at every endpoint", () => fuzzServeJsonBodies({ numRuns: runs, seed })],
  ["request lines, headers and bodies", () => fuzzServeRequestLines({ numRuns: runs, seed })],
  ["request lines with an API key", () => fuzzServeRequestLines({ numRuns: runs, seed }, "fuzz-key")],
  ["codec round trip", () => fuzzCodecRoundTrip({ numRuns: runs * 4, seed })],
  ["codec decode of any bytes", () => fuzzCodecDecode({ numRuns: runs * 4, seed })],
];
let failed = 0;
for (const [name, property] of properties) {
  const started = performance.now();
  try {
    await property();
    say(`ok    ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed += 1;
    say(`FAIL  ${name}: ${(error as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);
