// The interactive glm-chat in a real terminal (tmux), started as the README's `npm run demo` / `npm start`, with the real sidecar on the tiny model: stream,
// Ctrl+C (stops an answer; twice at an empty prompt quits), /retry, multi-line input, /save then --session, 40 columns. Assertions on capture-pane text.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const python = process.env.GLM_CHAT_PYTHON;
const modelDir = process.env.GLM_CHAT_TINY_MODEL_DIR;
if (!python || !modelDir) {
  throw new Error("GLM_CHAT_PYTHON and GLM_CHAT_TINY_MODEL_DIR are unset: run the suite with `npm test`, which sets them up");
}
const scratch = mkdtempSync(join(tmpdir(), "glm-chat-tmux-"));
// Our own tmux server, so the test never touches a user's sessions.
const socket = `glm-chat-e2e-${process.pid}-${Date.now()}`;
const env = [`XDG_DATA_HOME=${join(scratch, "data")}`, `XDG_STATE_HOME=${join(scratch, "state")}`, `XDG_CACHE_HOME=${join(scratch, "cache")}`, `XDG_CONFIG_HOME=${join(scratch, "config")}`];

const tmux = (...args: string[]) => execa("tmux", ["-L", socket, ...args]);
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const root = join(import.meta.dirname, "..", "..");

/**
 * Starts the chat in tmux the way the README's Quick start does: `npm start -- …` (the real binary), or
 * `npm run demo -- …` (the tiny model under .cache/, made if missing). Flags after `--` reach glm-chat.
 */
async function start(name: string, how: "npm start" | "npm run demo", extra: string[] = [], extraEnv: string[] = []): Promise<void> {
  const flags = ["--greedy", "--max-new-tokens", "40", ...extra];
  const argv = how === "npm start" ? ["npm", "start", "--", "--model-dir", modelDir!, "--python", python!, ...flags] : ["npm", "run", "demo", "--", ...flags];
  const command = `cd ${quote(root)} && env ${[...env, `GLM_CHAT_PYTHON=${python}`, ...extraEnv].map(quote).join(" ")} ${argv.map(quote).join(" ")}; echo EXITED $?; sleep 60`;
  // A retry of the test starts the same session again: the first try's, if still there, goes first.
  await tmux("kill-session", "-t", name).catch(() => undefined);
  await tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", command);
}

/** The pane's text, scrollback included. */
async function screen(name: string): Promise<string> {
  return (await tmux("capture-pane", "-p", "-t", name, "-S", "-300")).stdout;
}

/** Waits until the pane shows `pattern`; returns the pane's text then. */
async function see(name: string, pattern: RegExp | string, timeoutMs = 60_000): Promise<string> {
  const found = (text: string) => (typeof pattern === "string" ? text.includes(pattern) : pattern.test(text));
  return vi.waitFor(
    async () => {
      const text = await screen(name);
      if (!found(text)) throw new Error(`not on screen: ${String(pattern)}\n${text}`);
      return text;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

/** Text without whitespace: the chat word-wraps its messages at the pane's width, so where a line breaks depends on path lengths. */
const squeeze = (text: string) => text.replace(/\s+/g, "");

const type = (name: string, text: string) => tmux("send-keys", "-t", name, "-l", text);
const keys = (name: string, ...names: string[]) => tmux("send-keys", "-t", name, ...names);

beforeAll(async () => {
  const version = await execa("tmux", ["-V"], { reject: false });
  if (version.exitCode !== 0) throw new Error("tmux is missing: install it (apt-get install tmux) to run the terminal end-to-end test");
});
afterAll(async () => {
  await tmux("kill-server").catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

describe("glm-chat in tmux", () => {
  it("streams, stops on Ctrl+C, retries, takes multi-line input, saves and continues a session, fits 40 columns", async () => {
    await start("a", "npm run demo");
    await see("a", "● ready");
    await type("a", "你好");
    await keys("a", "Enter");
    // The status line wraps where its width runs out: its words are matched across line breaks.
    let text = await see("a", /tok\/s\s+·\s+first\s+token/);
    expect(text).toContain("› 你好");

    // A longer answer, stopped mid-stream.
    await type("a", "/set max_new_tokens 200");
    await keys("a", "Enter");
    // Wait until the command was handled (an empty prompt again), not just echoed, before typing on.
    await see("a", /› \/set max_new_tokens 200\n[\s\S]*\n› *\n● ready/);
    await type("a", "写一首长诗");
    await keys("a", "Enter");
    // Streaming: answer text under the question while the status line offers Ctrl+C.
    await see("a", /› 写一首长诗\n[^…\s][\s\S]*Ctrl\+C\s+stops\s+the\s+answer/, 30_000);
    await keys("a", "C-c");
    text = await see("a", "(stopped)");
    // Ctrl+C during an answer only stops it: no quit, and no quit question.
    expect(text).not.toContain("EXITED");
    expect(text).not.toContain("Press Ctrl+C again");

    await type("a", "/retry");
    await keys("a", "Enter");
    await see("a", "Answering the last question again");
    await see("a", /Answering the last question again[\s\S]+\n› *\n● ready/);

    await type("a", "first line");
    await keys("a", "C-j");
    await type("a", "second line");
    await keys("a", "Enter");
    text = await see("a", /› first line\n {2}second line/);
    // Answered: an empty prompt line under the answer, and the engine idle again.
    await see("a", /second line\n[\s\S]+\n› *\n● ready/);

    await type("a", "/save x");
    await keys("a", "Enter");
    await see("a", 'Saved as "x"');

    await tmux("resize-window", "-t", "a", "-x", "40");
    await type("a", "/he");
    text = await see("a", /› \/he/);
    const last = text.trimEnd().split("\n").slice(-4);
    expect(last.join("\n")).toMatch(/\/help/);
    expect(last.join("\n")).toMatch(/● ready/);
    await keys("a", "C-u");
    await keys("a", "C-d");
    await see("a", "EXITED 0");

    await start("b", "npm start", ["--session", "x"]);
    text = await see("b", 'Continuing session "x": 3 rounds.');
    expect(text).toContain("› 你好");
    expect(text).toMatch(/› first line\n {2}second line/);
    await see("b", "● ready");
    // With the engine loaded, one Ctrl+C at an empty prompt only asks; the second, within ~2 s, quits.
    await keys("b", "C-c");
    text = await see("b", "Press Ctrl+C again to quit");
    expect(text).not.toContain("EXITED");
    await keys("b", "C-c");
    await see("b", "EXITED 0");
  }, 120_000);

  it("a mistyped --model-dir downloads nothing and leaves nothing behind; the checkpoint file itself gets its folder named", async () => {
    const typo = join(scratch, "modles", "glm-6b");
    await start("typo", "npm start", ["--model-dir", typo]);
    const text = await see("typo", "EXITED 1");
    expect(squeeze(text)).toContain(squeeze(`model directory ${typo} does not exist: check the path`));
    expect(text).not.toMatch(/Write .* into|GB into/);
    expect(existsSync(join(scratch, "modles"))).toBe(false);

    await start("file", "npm start", ["--model-dir", join(modelDir!, "glm_6b.ckpt")]);
    const flat = squeeze(await see("file", "EXITED 1"));
    expect(flat).toContain(squeeze(`is one of the model files, not a directory: pass the folder it is in, which holds both model files: --model-dir ${modelDir}`));
  });

  it("offline, the chat's download says each source's failure once, as glm-chat, and the ways forward as a checkout runs them", async () => {
    const empty = join(scratch, "empty-model-dir");
    mkdirSync(empty);
    // Every source through a proxy that refuses: offline, whatever this machine's network.
    await start("offline", "npm start", ["--model-dir", empty], ["HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "GLM_CHAT_MIRROR="]);
    const text = squeeze(await see("offline", "EXITED 1"));
    expect(text.split(squeeze("connect ECONNREFUSED 127.0.0.1:9")).length - 1).toBe(1);
    expect(text).toContain(squeeze("glm-chat: glm_6b.ckpt: not found on this machine and no source answered (the reason"));
    expect(text).not.toContain(squeeze("glm-chat pull:"));
    expect(text).toContain(squeeze("every download option: npm start -- pull --help"));
  });
});
