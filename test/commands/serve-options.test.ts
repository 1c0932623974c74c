// `glm-chat serve` flags: its own, glm-chat's model and sampling options passed through, the bind rule, one-shot flags refused.
import { Command, CommanderError } from "commander";
import { describe, expect, it, vi } from "vitest";
import { addGlmChatOptions } from "../../src/commands/cli-options.ts";
import { appPaths } from "../../src/config/paths.ts";
import { isLoopback, parseServeArgs } from "../../src/commands/serve-options.ts";

const paths = appPaths({});

describe("parseServeArgs", () => {
  it("takes the server's flags and passes glm-chat's model and sampling options through, in any order", () => {
    const { serve, cli } = parseServeArgs(["--model-dir", "/m", "--port", "9000", "--temperature", "0.5", "--greedy", "--max-queue", "3", "--engine", "native"], paths);
    expect(serve).toMatchObject({ host: "127.0.0.1", port: 9000, maxQueue: 3 });
    expect(cli).toMatchObject({ modelDir: "/m", temperature: 0.5, greedy: true, engine: "native" });
  });

  it("refuses a non-loopback bind without a key, and one-shot flags", () => {
    expect(() => parseServeArgs(["--host", "0.0.0.0"], paths)).toThrow(/without an API key/);
    expect(parseServeArgs(["--host", "0.0.0.0", "--api-key", "k"], paths).serve.apiKey).toBe("k");
    expect(() => parseServeArgs(["-p", "hi", "--json"], paths)).toThrow(/-p\/--prompt, --json are one-shot options/);
    expect([isLoopback("127.0.0.1"), isLoopback("127.1.2.3"), isLoopback("::1"), isLoopback("localhost"), isLoopback("0.0.0.0"), isLoopback("10.0.0.2")]).toEqual([true, true, true, true, false, false]);
  });

  it("parses glm-chat's options from their one definition, while --help lists only the server's own", () => {
    const longs = addGlmChatOptions(new Command(), paths).options.map((o) => o.long!);
    expect(longs).toEqual(expect.arrayContaining(["--model-dir", "--engine", "--seed", "--greedy", "--python"]));
    const { cli } = parseServeArgs(["--seed", "7", "--top-k", "3", "--python", "/py", "--force"], paths);
    expect(cli).toMatchObject({ seed: 7, topK: 3, python: "/py", force: true });
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (out.push(String(chunk)), true));
    try {
      expect(() => parseServeArgs(["--help"], paths)).toThrow(CommanderError);
    } finally {
      write.mockRestore();
    }
    const listed = [...out.join("").matchAll(/^ {2}(-\S+|--\S+)/gm)].map((m) => m[1]);
    expect(listed).toEqual(["--host", "--port", "--api-key", "--cors", "--max-queue", "-h,"]);
    expect(out.join("")).toContain("Also takes glm-chat's model, engine and sampling options");
  });
});

