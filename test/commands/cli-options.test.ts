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

describe("parseCliOptions: mistakes are told at once, with what to do", () => {
  const subcommands = [{ name: "pull", summary: "x" }, { name: "doctor", summary: "y" }, { name: "serve", summary: "z" }];
  /** The error commander would print, and the exit code. */
  function refusal(argv: string[]): { stderr: string; exitCode: number } {
    let stderr = "";
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
    try {
      parseCliOptions(argv, paths, subcommands);
    } catch (error) {
      return { stderr, exitCode: (error as { exitCode: number }).exitCode };
    } finally {
      process.stderr.write = write;
    }
    throw new Error(`accepted: ${argv.join(" ")}`);
  }

  it.each([
    [["--top-p", "2"], "--top-p must be a number above 0 and at most 1, e.g. 0.7; got \"2\"."],
    [["--temperature", "-1"], "--temperature must be a number above 0, e.g. 0.95"],
    [["--top-k", "1.5"], "--top-k must be a whole number, 0 = off"],
    [["--repetition-penalty", "0"], "--repetition-penalty must be a number above 0, 1 = off"],
    [["--seed", "-3"], "--seed must be a whole number from 0 to 2147483647"],
    [["--max-new-tokens", "0"], "--max-new-tokens must be a whole number from 1 to 2147483647"],
    [["--max-new-tokens", "600", "--seq-length", "512"], "--max-new-tokens 600 leaves no room for the question in --seq-length 512"],
    [["pul"], "error: unknown command 'pul' (did you mean pull?)"],
    [["docter"], "(did you mean doctor?)"],
    [["hello"], "error: 'hello' is not a command, and a question goes after -p: glm-chat -p \"hello\"; the commands are pull, doctor, serve"],
    [["hello", "world"], "glm-chat -p \"hello world\""],
    [["--device", "tpu"], "--device must be one of auto, Ascend, GPU, CPU (in any case)"],
  ])("%j: %s", (argv, words) => {
    const { stderr, exitCode } = refusal(argv);
    expect(stderr).toContain(words);
    expect(exitCode).toBe(1);
  });

  it("takes --device, --engine and --precision in any case, keeping their own spelling", () => {
    expect(parseCliOptions(["--device", "gpu", "--engine", "Native", "--precision", "FLOAT16"], paths)).toMatchObject({ device: "GPU", engine: "native", precision: "float16" });
  });

  it("--help does not list the test-only fake engine, nor MindFormers as needed", () => {
    let help = "";
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => ((help += s), true)) as typeof process.stdout.write;
    try {
      parseCliOptions(["--help"], paths);
    } catch {
      // --help exits through commander
    } finally {
      process.stdout.write = write;
    }
    expect(help).not.toContain("fake");
    expect(help).toContain("MindFormers is optional");
  });
});
