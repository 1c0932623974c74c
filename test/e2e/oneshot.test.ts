// One-shot mode end to end: the real glm-chat binary, the real sidecar, the tiny model; -p, stdin, --json, --dry-run, --session.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type Options } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const python = process.env.GLM_CHAT_PYTHON;
const modelDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !modelDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}
const scratch = mkdtempSync(join(tmpdir(), "glm-chat-oneshot-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const env = { XDG_DATA_HOME: join(scratch, "data"), XDG_STATE_HOME: join(scratch, "state"), XDG_CACHE_HOME: join(scratch, "cache") };
const sessionsDir = join(env.XDG_DATA_HOME, "glm-chat", "sessions");
const bin = join(import.meta.dirname, "..", "..", "bin", "glm-chat.js");

function glmChat(args: string[], options: Options & { model?: string } = {}) {
  return execa(process.execPath, [bin, "--model-dir", options.model ?? modelDir!, "--python", python!, "--greedy", ...args], {
    env,
    reject: false,
    timeout: 240_000,
    input: "",
    ...options,
  });
}

const json = (stdout: unknown) => JSON.parse(String(stdout)) as Record<string, any>;

describe("glm-chat one-shot", () => {
  it("prints only the answer for -p and for a question on stdin; --json has answer, usage, timings", async () => {
    const [plain, piped, asJson] = await Promise.all([
      glmChat(["-p", "你好", "--max-new-tokens", "12"]),
      glmChat(["--max-new-tokens", "12"], { input: "你好\n" }),
      glmChat(["-p", "你好", "--max-new-tokens", "12", "--json"]),
    ]);
    for (const run of [plain, piped, asJson]) expect(run.exitCode, String(run.stderr)).toBe(0);
    const result = json(asJson.stdout);
    expect(result).toMatchObject({ truncated_rounds: 0, done_reason: "length", usage: { completion_tokens: 12 } });
    expect(result.usage.prompt_tokens).toBe(3); // 你好 [gMASK] <sop>
    expect(result.timings.total_ms).toBeGreaterThan(0);
    expect(result.answer.length).toBeGreaterThan(0);
    expect(plain.stdout).toBe(result.answer); // execa strips the final newline
    expect(piped.stdout).toBe(result.answer);
    expect(existsSync(sessionsDir)).toBe(false); // one-shot runs save only with --session
  }, 300_000);

  it("--engine native gives MindFormers' greedy answer, and auto picks MindFormers where its GLM-6B works and runs the precision", async () => {
    // MindFormers runs float32 on CPU: --precision auto (float16 where it fits) runs the native engine; float32 lets auto pick MindFormers.
    const [native, mindformers, auto] = await Promise.all([
      glmChat(["-p", "北京", "--max-new-tokens", "16", "--json", "--engine", "native", "--precision", "float32"]),
      glmChat(["-p", "北京", "--max-new-tokens", "16", "--json", "--engine", "mindformers"]),
      glmChat(["-p", "北京", "--max-new-tokens", "16", "--json", "--precision", "float32"]),
    ]);
    for (const run of [native, mindformers, auto]) expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(json(native.stdout).engine).toMatch(/^native \S+ \/ mindspore 2\./);
    expect(json(mindformers.stdout).engine).toMatch(/^mindformers 1\./);
    expect(json(auto.stdout).engine).toMatch(/^mindformers 1\./);
    expect(json(native.stdout).answer).toBe(json(mindformers.stdout).answer);
    expect(json(native.stdout).answer.length).toBeGreaterThan(0);
    expect(json(mindformers.stdout)).toMatchObject({ precision: "float32", precision_reason: "MindFormers runs float32 on CPU" });
  }, 300_000);

  it("--precision auto runs the native engine in float16 on the tiny model and says why; --precision int8 and int4 run and say so", async () => {
    const [auto, int8, int4] = await Promise.all([
      glmChat(["-p", "你好", "--max-new-tokens", "8", "--json"]),
      glmChat(["-p", "你好", "--max-new-tokens", "8", "--json", "--precision", "int8"]),
      glmChat(["-p", "你好", "--max-new-tokens", "8", "--json", "--precision", "INT4"]),
    ]);
    for (const run of [auto, int8, int4]) expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(json(auto.stdout)).toMatchObject({ engine: expect.stringMatching(/^native /), precision: "float16",
      precision_reason: expect.stringMatching(/^auto: about [\d.]+ MB fits in [\d.]+ GB (of RAM available|available in this process's memory cgroup)/) });
    expect(json(int8.stdout)).toMatchObject({ engine: expect.stringMatching(/^native /), precision: "int8", precision_reason: "--precision int8", usage: { completion_tokens: 8 } });
    expect(json(int4.stdout)).toMatchObject({ precision: "int4", precision_reason: "--precision int4", usage: { completion_tokens: 8 } });
  }, 300_000);

  it("--session continues a saved conversation, and --dry-run shows the exact prompt the next turn sends", async () => {
    const first = await glmChat(["-p", "你好", "--max-new-tokens", "8", "--session", "s1"]);
    expect(first.exitCode, String(first.stderr)).toBe(0);
    const saved = json(readFileSync(join(sessionsDir, "s1.json"), "utf8"));
    expect(saved.rounds).toEqual([{ query: "你好", answer: first.stdout }]);

    const dry = await glmChat(["-p", "北京", "--max-new-tokens", "8", "--session", "s1", "--dry-run", "--json"]);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const plan = json(dry.stdout);
    expect(plan.prompt).toBe(`[Round 0]\n问：你好\n答：${first.stdout}\n[Round 1]\n问：北京\n答：`);
    expect(plan).toMatchObject({ truncated_rounds: 0, seq_length: 256, budget: 248 });

    const second = await glmChat(["-p", "北京", "--max-new-tokens", "8", "--session", "s1", "--json"]);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(json(second.stdout).usage.prompt_tokens).toBe(plan.prompt_tokens); // the count the engine saw
    expect(json(readFileSync(join(sessionsDir, "s1.json"), "utf8")).rounds).toHaveLength(2);

    const plainDry = await glmChat(["-p", "北京", "--max-new-tokens", "8", "--session", "s1", "--dry-run"]);
    expect(plainDry.stdout).toMatch(/^\[Round 0\]\n问：你好\n[^]*\[Round 2\]\n问：北京\n答：\n--- \d+ tokens \(budget 248 of seq_length 256; 0 earlier rounds left out\)$/);
  }, 300_000);

  it("--dry-run loads only the tokenizer: it works without the checkpoint, while answering needs it", async () => {
    const tokenizerOnly = join(scratch, "tokenizer-only");
    mkdirSync(tokenizerOnly);
    for (const name of ["ice_text.model", "glm_config.json"]) copyFileSync(join(modelDir!, name), join(tokenizerOnly, name));
    const dry = await glmChat(["-p", "你好", "--dry-run"], { model: tokenizerOnly });
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    expect(dry.stdout).toBe("你好\n--- 3 tokens (budget 128 of seq_length 256; 0 earlier rounds left out)");
    const answer = await glmChat(["-p", "你好"], { model: tokenizerOnly });
    expect(answer.exitCode).toBe(1);
    expect(answer.stdout).toBe("");
    expect(answer.stderr).toMatch(/glm_6b\.ckpt/);
  }, 300_000);

  it("leaves out the oldest rounds that do not fit, and says so in --json", async () => {
    mkdirSync(sessionsDir, { recursive: true });
    const long = "北京是中国的首都，也是一座历史悠久的城市。"; // 54 tokens as a round on the tiny model
    const rounds = [0, 1, 2, 3].map((i) => ({ query: `问题${i}`, answer: long }));
    const now = new Date().toISOString();
    writeFileSync(join(sessionsDir, "long.json"), JSON.stringify({ format: "glm-chat-session", version: 1, name: "long", created_at: now, updated_at: now, rounds }));
    const dry = await glmChat(["-p", "再见", "--max-new-tokens", "128", "--session", "long", "--dry-run", "--json"]);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const plan = json(dry.stdout);
    expect(plan.truncated_rounds).toBeGreaterThan(0);
    expect(plan.truncated_rounds).toBeLessThan(4);
    expect(plan.prompt_tokens).toBeLessThanOrEqual(128);
    expect(plan.prompt.startsWith(`[Round 0]\n问：问题${plan.truncated_rounds}\n`)).toBe(true);
    const run = await glmChat(["-p", "再见", "--max-new-tokens", "128", "--session", "long", "--json"]);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(json(run.stdout)).toMatchObject({ truncated_rounds: plan.truncated_rounds, usage: { prompt_tokens: plan.prompt_tokens } });
  }, 300_000);

  it("fails with a message on stderr for a question too long, or truncates it under --truncate-long-query", async () => {
    const question = "你好".repeat(300);
    const refused = await glmChat(["-p", question, "--max-new-tokens", "16"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/The question alone is \d+ tokens; at most 240 fit.*\[CONTEXT_QUERY_TOO_LONG\]/);
    const truncated = await glmChat(["-p", question, "--max-new-tokens", "16", "--truncate-long-query", "--json"]);
    expect(truncated.exitCode, String(truncated.stderr)).toBe(0);
    expect(json(truncated.stdout)).toMatchObject({ query_truncated: true, usage: { completion_tokens: 16 } });
    expect(json(truncated.stdout).usage.prompt_tokens).toBeLessThanOrEqual(240);
  }, 300_000);

  it("refuses a corrupted session file, sets it aside, and exits non-zero", async () => {
    mkdirSync(sessionsDir, { recursive: true });
    writeFileSync(join(sessionsDir, "bad.json"), "{ not json");
    const run = await glmChat(["-p", "你好", "--session", "bad"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/Session "bad" is unreadable: not JSON.*moved aside to .*bad\.json\.corrupt-.*\[SESSION_CORRUPT\]/);
    const names = readdirSync(sessionsDir);
    expect(names).not.toContain("bad.json");
    expect(names.some((n) => n.startsWith("bad.json.corrupt-"))).toBe(true);
  }, 300_000);

  it("a kill -9 mid-answer keeps the session's finished turns", async () => {
    const first = await glmChat(["-p", "你好", "--max-new-tokens", "8", "--session", "killed"]);
    expect(first.exitCode, String(first.stderr)).toBe(0);
    const before = readFileSync(join(sessionsDir, "killed.json"), "utf8");
    const run = glmChat(["-p", "北京", "--max-new-tokens", "200", "--session", "killed"]);
    await new Promise<void>((resolve) => run.stdout!.once("data", () => resolve()));
    run.kill("SIGKILL");
    expect((await run).signal).toBe("SIGKILL");
    expect(readFileSync(join(sessionsDir, "killed.json"), "utf8")).toBe(before);
    const next = await glmChat(["-p", "再见", "--max-new-tokens", "4", "--session", "killed", "--dry-run", "--json"]);
    expect(json(next.stdout).prompt).toBe(`[Round 0]\n问：你好\n答：${first.stdout}\n[Round 1]\n问：再见\n答：`);
  }, 300_000);

  it("exits 2 with a message when there is no question", async () => {
    const run = await glmChat(["--json"], { input: "" });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/no question/);
  }, 60_000);
});
