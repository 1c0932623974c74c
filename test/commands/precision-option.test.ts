// --precision on every front end (chat and -p, serve, doctor): the same values, checked at parse time with the values in the message.
import { CommanderError } from "commander";
import { describe, expect, it, vi } from "vitest";
import { parseCliOptions, PRECISION_CHOICES } from "../../src/commands/cli-options.ts";
import { runDoctor } from "../../src/commands/doctor/doctor-command.ts";
import { parseServeArgs } from "../../src/commands/serve-options.ts";
import { appPaths } from "../../src/config/paths.ts";

const paths = appPaths({});
const WORDS = '--precision must be one of auto, float32, float16, int8, int4 (in any case); got "int2".';

/** Runs `parse` with stderr captured: what commander wrote, and what it threw. */
function captured(parse: () => unknown): { stderr: string; error: unknown } {
  let stderr = "";
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    parse();
    return { stderr, error: undefined };
  } catch (error) {
    return { stderr, error };
  } finally {
    spy.mockRestore();
  }
}

describe("--precision", () => {
  it("takes auto, float32, float16, int8 and int4 in any case; auto is the default", () => {
    expect(PRECISION_CHOICES).toEqual(["auto", "float32", "float16", "int8", "int4"]);
    expect(parseCliOptions([], paths).precision).toBe("auto");
    for (const p of PRECISION_CHOICES) expect(parseCliOptions(["--precision", p.toUpperCase()], paths).precision).toBe(p);
    expect(parseServeArgs(["--precision", "Int4"], paths).cli.precision).toBe("int4");
  });

  it("refuses anything else before anything starts, naming the values: the chat, -p and serve", () => {
    for (const argv of [["--precision", "int2"], ["-p", "hi", "--precision", "int2"]]) {
      const { stderr, error } = captured(() => parseCliOptions(argv, paths));
      expect(error).toBeInstanceOf(CommanderError);
      expect((error as CommanderError).exitCode).toBe(1);
      expect(stderr).toContain(WORDS);
    }
    const serve = captured(() => parseServeArgs(["--precision", "int2"], paths));
    expect(serve.error).toBeInstanceOf(CommanderError);
    expect(serve.stderr).toContain(WORDS);
  });

  it("doctor refuses it the same way, with exit code 1", async () => {
    let stderr = "";
    const io = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream };
    expect(await runDoctor(["--precision", "int2", "--offline"], paths, io)).toBe(1);
    expect(stderr).toContain(WORDS);
  });
});
