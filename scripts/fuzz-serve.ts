// Long fuzzing of `serve` (fake engine) and the wire codec: `npx tsx scripts/fuzz-serve.ts [RUNS] [SEED]` (default 5000 runs, a random seed).
// It runs test/fuzz/ under vitest with more cases (GLM_CHAT_FUZZ_RUNS, GLM_CHAT_FUZZ_SEED); it imports nothing from the tests.
import { execa } from "execa";

const runs = Number(process.argv[2] ?? 5000);
const seed = process.argv[3] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.argv[3]);
process.stdout.write(`[fuzz-serve] ${runs} runs per property, seed ${seed} (rerun with: npx tsx scripts/fuzz-serve.ts ${runs} ${seed})\n`);
const result = await execa("npx", ["vitest", "run", "test/fuzz", "--testTimeout", "0"], {
  stdio: "inherit",
  reject: false,
  env: { GLM_CHAT_FUZZ_RUNS: String(runs), GLM_CHAT_FUZZ_SEED: String(seed) },
});
process.exit(result.exitCode ?? 1);
