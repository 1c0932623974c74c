// Composition root: argv → one command of commands/; exit codes and the words a failure ends with. Nothing else.
import { runChat, consoleIo } from "./commands/chat-command.tsx";
import type { CliOptions, SubcommandSummary } from "./commands/cli-options.ts";
import { runDoctor } from "./commands/doctor/doctor-command.ts";
import { startupDiagnosis, STARTUP_FAILURE_CODES } from "./commands/doctor/startup-diagnosis.ts";
import { runPull } from "./commands/pull-command.ts";
import { QUANTIZE_SUMMARY, runQuantize } from "./commands/quantize-command.ts";
import { runServe } from "./commands/serve-command.ts";
import { SERVE_DESCRIPTION } from "./commands/serve-options.ts";
import { startBackend, startQuantizer } from "./commands/start-backend.ts";
import { npmBannerNote } from "./config/invocation.ts";
import { appPaths } from "./config/paths.ts";
import { ModelError } from "./model/errors.ts";
import { SidecarError } from "./sidecar/errors.ts";

/** The parsed options, for the start-up diagnosis when the run fails. */
let parsedOptions: CliOptions | undefined;

/** `glm-chat NAME …`: each runs with the arguments after its name; `--help` lists them with their summaries. */
const SUBCOMMANDS: readonly (SubcommandSummary & { run(argv: string[]): Promise<number> })[] = [
  { name: "pull", summary: "download glm_6b.ckpt and ice_text.model (resumable, mirrors, finds local copies)", run: (argv) => runPull(argv, consoleIo()) },
  { name: "quantize", summary: QUANTIZE_SUMMARY, run: (argv) => runQuantize(argv, appPaths(), { stdout: process.stdout, stderr: process.stderr }, (flags) => startQuantizer(flags, appPaths())) },
  { name: "doctor", summary: "check this machine, the Python, MindSpore, devices and model files", run: (argv) => runDoctor(argv, appPaths(), consoleIo()) },
  { name: "serve", summary: SERVE_DESCRIPTION, run: (argv) => runServe(argv, appPaths(), (options) => startBackend((parsedOptions = options), appPaths())) },
];

async function main(argv: string[]): Promise<number> {
  const bannerNote = npmBannerNote(argv, process.env);
  if (bannerNote) process.stderr.write(bannerNote);
  const subcommand = SUBCOMMANDS.find((c) => c.name === argv[0]);
  if (subcommand) return subcommand.run(argv.slice(1));
  return runChat(argv, appPaths(), SUBCOMMANDS, (options) => (parsedOptions = options));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (error: unknown) => {
    // The sidecar's and the model files' errors speak for themselves: their words (and the child's), no code.
    if (error instanceof ModelError) {
      process.stderr.write(`glm-chat: ${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof SidecarError) {
      process.stderr.write(`glm-chat: ${error.message}\n`);
      if (error.stderrTail.length) process.stderr.write(`${error.stderrTail.join("\n")}\n`);
      if (error.logPath) process.stderr.write(`log: ${error.logPath}\n`);
      if (parsedOptions && STARTUP_FAILURE_CODES.has(error.code)) process.stderr.write(await startupDiagnosis(parsedOptions, appPaths()));
      process.exit(1);
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof Error && typeof code === "string") {
      // An error with a stable code is one the user can act on: its words, not a stack trace.
      process.stderr.write(`glm-chat: ${error.message} [${code}]\n`);
      process.exit(1);
    }
    process.stderr.write(`glm-chat: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(70);
  },
);
