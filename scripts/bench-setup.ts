// First-run setup timeline: a fresh managed venv and a cold pip cache, to the first streamed answer on the tiny model.
// Runs each variant in this one invocation (default: the install `npm start` makes, then `--engine mindformers`, which
// adds MindFormers) and prints each one's timeline, its downloaded bytes and its time against the last variant's.
//   npx tsx scripts/bench-setup.ts [--only default|mindformers] [--keep]
// Needs the package registry (PyPI) and .cache/tiny-model (npm run demo or scripts/make-tiny-model makes it).
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { formatBytes } from "../src/util/format.ts";

const root = join(import.meta.dirname, "..");
const { values } = parseArgs({ options: { only: { type: "string" }, keep: { type: "boolean", default: false } } });
const tinyDir = process.env.GLM_CHAT_TINY_MODEL_DIR ?? join(root, ".cache", "tiny-model");
if (!existsSync(join(tinyDir, "glm_6b.ckpt"))) {
  console.error(`bench-setup: no tiny model in ${tinyDir}: run scripts/make-tiny-model first`);
  process.exit(2);
}

interface Variant {
  name: string;
  flags: string[];
}
const variants: Variant[] = [
  { name: "default", flags: [] },
  { name: "mindformers", flags: ["--engine", "mindformers"] },
].filter((v) => !values.only || v.name === values.only);

interface Mark {
  at: number;
  line: string;
}
interface Outcome {
  variant: Variant;
  marks: Mark[];
  firstAnswerMs?: number;
  totalMs: number;
  downloaded: number;
  installed: number;
  exitCode: number;
}

/** Bytes under `path`, symbolic links not followed (a venv's lib64 is a link to lib). */
function sizeOf(path: string): number {
  if (!existsSync(path)) return 0;
  const info = lstatSync(path);
  if (!info.isDirectory()) return info.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

async function runVariant(variant: Variant): Promise<Outcome> {
  const scratch = mkdtempSync(join(tmpdir(), `glm-chat-setup-${variant.name}-`));
  const env: Record<string, string> = {
    XDG_DATA_HOME: join(scratch, "data"),
    XDG_STATE_HOME: join(scratch, "state"),
    XDG_CACHE_HOME: join(scratch, "cache"),
    XDG_CONFIG_HOME: join(scratch, "config"),
    PIP_CACHE_DIR: join(scratch, "pip-cache"),
    GLM_CHAT_DEVICE: "CPU",
  };
  const inherited = { ...process.env };
  for (const name of ["PIP_FIND_LINKS", "GLM_CHAT_PYTHON", "GLM_CHAT_VENV", "GLM_CHAT_ENGINE", "GLM_CHAT_MODEL_DIR"]) delete inherited[name];
  const argv = [join(root, "bin", "glm-chat.js"), "-p", "你好", "--model-dir", tinyDir, "--greedy", "--max-new-tokens", "8", ...variant.flags];
  const started = performance.now();
  const since = () => performance.now() - started;
  const marks: Mark[] = [];
  let firstAnswerMs: number | undefined;
  const child = execa(process.execPath, argv, { env: { ...inherited, ...env }, extendEnv: false, reject: false, stdin: "ignore", all: false, buffer: false });
  child.stdout?.on("data", () => {
    firstAnswerMs ??= since();
  });
  let pending = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const lines = pending.split(/\r|\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) marks.push({ at: since(), line: line.trim() });
  });
  const result = await child;
  const totalMs = since();
  const outcome: Outcome = {
    variant,
    marks,
    firstAnswerMs,
    totalMs,
    downloaded: downloadedBytes(marks),
    installed: sizeOf(join(env.XDG_DATA_HOME!, "glm-chat", "venv")),
    exitCode: result.exitCode ?? 1,
  };
  if (!values.keep) rmSync(scratch, { recursive: true, force: true });
  else console.log(`(kept ${scratch})`);
  return outcome;
}

/** pip's own count, from each install step's closing line ("done in 58s (installed 3 packages · 3.1 MB downloaded)"). */
function downloadedBytes(marks: Mark[]): number {
  const units: Record<string, number> = { kB: 1e3, MB: 1e6, GB: 1e9 };
  return marks.reduce((sum, { line }) => {
    const found = /done in .*· ([\d.]+) (kB|MB|GB) downloaded\)/.exec(line);
    return found ? sum + Number(found[1]) * units[found[2]!]! : sum;
  }, 0);
}

const seconds = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
const outcomes: Outcome[] = [];
for (const variant of variants) {
  console.log(`\n## ${variant.name}: glm-chat -p 你好 ${variant.flags.join(" ")} (fresh venv, cold pip cache)`);
  const outcome = await runVariant(variant);
  for (const mark of outcome.marks) console.log(`  ${seconds(mark.at).padStart(8)}  ${mark.line.slice(0, 150)}`);
  console.log(`  ${seconds(outcome.firstAnswerMs).padStart(8)}  (first answer text on stdout)`);
  console.log(`  ${seconds(outcome.totalMs).padStart(8)}  (exit ${outcome.exitCode})`);
  outcomes.push(outcome);
}

console.log("\n| variant | first answer | exit | downloaded (pip) | venv on disk |");
console.log("|---|---|---|---|---|");
const baseline = outcomes[outcomes.length - 1]!;
for (const o of outcomes) {
  const ratio = o.firstAnswerMs && baseline.firstAnswerMs ? ` (${(o.firstAnswerMs / baseline.firstAnswerMs).toFixed(2)}× ${baseline.variant.name})` : "";
  console.log(`| ${o.variant.name} | ${seconds(o.firstAnswerMs)}${ratio} | ${o.exitCode} | ${formatBytes(o.downloaded)} | ${formatBytes(o.installed)} |`);
}
process.exitCode = outcomes.every((o) => o.exitCode === 0) ? 0 : 1;
