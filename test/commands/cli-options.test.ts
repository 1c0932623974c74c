// parseCliOptions: the one-shot, session and context flags, and the sampling flags' defaults.
import { describe, expect, it } from "vitest";
import { parseCliOptions } from "../../src/commands/cli-options.ts";
import type { AppPaths } from "../../src/config/paths.ts";

const paths: AppPaths = {
  packageRoot: "/pkg",
  sidecarDir: "/pkg/python-sidecar",
  dataDir: "/data/glm-chat",
  stateDir: "/state/glm-chat",
  cacheDir: "/cache/glm-chat",
  venvDir: "/data/glm-chat/venv",
  logDir: "/state/glm-chat/logs",
};

describe("parseCliOptions", () => {
  it("defaults to the interactive chat with ChatGLM-6B chat()'s sampling", () => {
    const options = parseCliOptions([], paths);
    expect(options).toMatchObject({ json: false, dryRun: false, truncateLongQuery: false, temperature: 0.95, topP: 0.7, topK: 0, maxNewTokens: 256, greedy: false });
    expect(options.prompt).toBeUndefined();
    expect(options.session).toBeUndefined();
  });

  it("reads -p, --json, --dry-run, --session and --truncate-long-query", () => {
    expect(parseCliOptions(["-p", "你好", "--json", "--session", "work", "--truncate-long-query"], paths)).toMatchObject({
      prompt: "你好",
      json: true,
      session: "work",
      truncateLongQuery: true,
    });
    expect(parseCliOptions(["--prompt", "q", "--dry-run"], paths)).toMatchObject({ prompt: "q", dryRun: true });
  });

  it("reads every sampling flag", () => {
    const options = parseCliOptions(["--temperature", "0.8", "--top-p", "0.9", "--top-k", "40", "--repetition-penalty", "1.1", "--seed", "42", "--max-new-tokens", "512", "--greedy"], paths);
    expect(options).toMatchObject({ temperature: 0.8, topP: 0.9, topK: 40, repetitionPenalty: 1.1, seed: 42, maxNewTokens: 512, greedy: true });
  });

  it("takes --seq-length from GLM_CHAT_SEQ_LENGTH, the flag winning", () => {
    const saved = process.env.GLM_CHAT_SEQ_LENGTH;
    process.env.GLM_CHAT_SEQ_LENGTH = "1024";
    try {
      expect(parseCliOptions([], paths).seqLength).toBe(1024);
      expect(parseCliOptions(["--seq-length", "512"], paths).seqLength).toBe(512);
    } finally {
      if (saved === undefined) delete process.env.GLM_CHAT_SEQ_LENGTH;
      else process.env.GLM_CHAT_SEQ_LENGTH = saved;
    }
  });
});

describe("parseCliOptions: --version and --help", () => {
  it("reads -v / --version and --verbose in either order", () => {
    expect(parseCliOptions(["-v"], paths)).toMatchObject({ version: true, verbose: false });
    expect(parseCliOptions(["--version", "--verbose"], paths)).toMatchObject({ version: true, verbose: true });
    expect(parseCliOptions(["--verbose", "--version"], paths)).toMatchObject({ version: true, verbose: true });
    expect(parseCliOptions([], paths)).toMatchObject({ version: false });
  });

  it("lists the subcommands it is given in --help, one line each, and still runs the chat without one", () => {
    let help = "";
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => ((help += s), true)) as typeof process.stdout.write;
    try {
      parseCliOptions(["--help"], paths, [{ name: "pull", summary: "download the files" }, { name: "serve", summary: "an HTTP API" }]);
    } catch (error) {
      expect((error as { exitCode?: number }).exitCode).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(help).toMatch(/\nCommands:\n {2}pull +download the files\n {2}serve +an HTTP API\n/);
    expect(help).not.toMatch(/^ {2}help /m);
    expect(parseCliOptions(["--greedy"], paths, [{ name: "pull", summary: "x" }])).toMatchObject({ greedy: true });
  });
});
