// glm-chat's command-line options, defined once for the chat and serve (commander); flags win over GLM_CHAT_* environment variables.
import { Command, InvalidArgumentError, Option } from "commander";
import type { AppPaths } from "../config/paths.ts";
import { defaultModelDir } from "../model/model-files.ts";
import { choiceInAnyCase, settingArg, strayWordsMessage } from "./option-parsers.ts";
import { MAX_WHOLE_NUMBER } from "../chat/generation-settings.ts";
import type { Precision } from "../model/memory-estimate.ts";

/** --precision's values, as every front end (chat, -p, serve, doctor) takes them. */
export const PRECISION_CHOICES: readonly Precision[] = ["auto", "float32", "float16", "int8", "int4"];

/** The one --precision option: checked at parse time, any case, the values in the message. */
export function precisionOption(description: string): Option {
  return new Option("--precision <dtype>", description).choices(PRECISION_CHOICES)
    .argParser(choiceInAnyCase("--precision", PRECISION_CHOICES)).default("auto");
}

export type EngineChoice = "auto" | "mindformers" | "native" | "fake";

export interface CliOptions {
  modelDir: string;
  /** auto: Ascend if visible, else GPU if MindSpore runs on it, else CPU (src/host/device-choice.ts). */
  device: "auto" | "Ascend" | "GPU" | "CPU";
  deviceId: number;
  /** auto: MindFormers' GLM-6B where it exists and loads, else the native engine (MindSpore alone). */
  engine: EngineChoice;
  seqLength?: number;
  /** Native engine weights; auto: float16 where it fits, else int8, else int4 (src/host/precision-choice.ts). */
  precision: Precision;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  repetitionPenalty: number;
  seed?: number;
  greedy: boolean;
  python?: string;
  /** One-shot: answer this question, print the answer, exit. */
  prompt?: string;
  json: boolean;
  dryRun: boolean;
  yes: boolean;
  session?: string;
  truncateLongQuery: boolean;
  /** Load the model even where the RAM check says it will not fit. */
  force: boolean;
  /** -v/--version: print the version and exit; with --verbose, MindSpore's and the engine's too. */
  version: boolean;
  verbose: boolean;
}

/** A subcommand for `--help`'s list: `glm-chat NAME …`, run by the CLI before these options are parsed. */
export interface SubcommandSummary {
  name: string;
  summary: string;
}

const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_WHOLE_NUMBER) throw new InvalidArgumentError(`${name} must be a whole number up to ${MAX_WHOLE_NUMBER}`);
  return n;
};

/** Adds glm-chat's options to `program` in --help's order: the chat shows them all; serve takes them too (the one-shot ones only to refuse them). */
export function addGlmChatOptions(program: Command, paths: AppPaths): Command {
  return program
    .addOption(new Option("--model-dir <dir>", "directory holding glm_6b.ckpt and ice_text.model")
      .env("GLM_CHAT_MODEL_DIR").default(defaultModelDir(paths.dataDir)))
    .addOption(new Option("--device <target>", "MindSpore device target (auto: Ascend, else a GPU MindSpore runs on, else CPU)")
      .choices(["auto", "Ascend", "GPU", "CPU"]).argParser(choiceInAnyCase("--device", ["auto", "Ascend", "GPU", "CPU"])).env("GLM_CHAT_DEVICE").default("auto"))
    .addOption(new Option("--device-id <n>", "device index").argParser(int("--device-id")).default(0))
    .addOption(new Option("--engine <name>", "auto: MindFormers' GLM-6B where it exists and loads, else native (MindSpore alone)")
      .choices(["auto", "mindformers", "native"]).argParser(choiceInAnyCase("--engine", ["auto", "mindformers", "native", "fake"])).env("GLM_CHAT_ENGINE").default("auto"))
    .addOption(precisionOption("native engine weights: auto (float16 where it fits the memory, else int8, else int4), float32, float16, int8 or int4"))
    .addOption(new Option("--seq-length <n>", "prompt + answer token limit (default: the model's glm_config.json, else 512 with MindFormers, 2048 native)")
      .env("GLM_CHAT_SEQ_LENGTH").argParser(settingArg("max_new_tokens", "--seq-length")))
    .addOption(new Option("--max-new-tokens <n>", "longest answer in tokens").argParser(settingArg("max_new_tokens", "--max-new-tokens")).default(256))
    .addOption(new Option("--temperature <t>", "sampling temperature").argParser(settingArg("temperature", "--temperature")).default(0.95))
    .addOption(new Option("--top-p <p>", "nucleus sampling mass").argParser(settingArg("top_p", "--top-p")).default(0.7))
    .addOption(new Option("--top-k <k>", "sample among the k likeliest tokens, 0 = off").argParser(settingArg("top_k", "--top-k")).default(0))
    .addOption(new Option("--repetition-penalty <r>", "penalty for repeated tokens, 1 = off").argParser(settingArg("repetition_penalty", "--repetition-penalty")).default(1.0))
    .addOption(new Option("--seed <n>", "random seed for reproducible answers").argParser(settingArg("seed", "--seed")))
    .addOption(new Option("--greedy", "always take the likeliest token (no sampling)").default(false))
    .addOption(new Option("--python <path>", "Python that runs the sidecar (needs MindSpore; MindFormers is optional)").env("GLM_CHAT_PYTHON"))
    .addOption(new Option("-p, --prompt <question>", "one-shot: print the answer to this question and exit (or pipe the question on stdin)"))
    .addOption(new Option("--json", "one-shot: print {answer, usage, timings, truncated_rounds} as JSON").default(false))
    .addOption(new Option("--dry-run", "one-shot: print the exact prompt and its token count; loads only the tokenizer").default(false))
    .addOption(new Option("--session <name>", "continue (or start) the saved session NAME; turns are saved into it"))
    .addOption(new Option("-y, --yes", "download missing model files without asking").default(false))
    .addOption(new Option("--force", "load the model even where the RAM check says it will not fit").default(false))
    .addOption(new Option("--truncate-long-query", "send the start of a question too long for the context, instead of refusing it").default(false))
    .addOption(new Option("-v, --version", "print glm-chat's version (with --verbose: Node's, Python's, MindSpore's and the engine's)").default(false))
    .addOption(new Option("--verbose", "with --version: also probe the sidecar's Python").default(false));
}

/** The one-shot flags, as --help names them, and whether `options` holds each: serve refuses them. */
export function oneShotFlagsGiven(options: CliOptions): string[] {
  const oneShotOnly = [["-p/--prompt", options.prompt !== undefined], ["--json", options.json], ["--dry-run", options.dryRun], ["--session", options.session !== undefined]] as const;
  return oneShotOnly.filter(([, set]) => set).map(([name]) => name);
}

/** `subcommands` only fill `--help`'s Commands list; the CLI dispatches them itself. */
export function parseCliOptions(argv: string[], paths: AppPaths, subcommands: readonly SubcommandSummary[] = []): CliOptions {
  const program = new Command("glm-chat")
    .description("Chat with ChatGLM-6B (glm_6b.ckpt + ice_text.model) on MindSpore: Ascend, GPU or CPU.")
    .helpCommand(false)
    .allowExcessArguments()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  addGlmChatOptions(program, paths);
  for (const { name, summary } of subcommands) {
    program.command(name).description(summary);
  }
  // With subcommands registered, commander would show help when none is named: the chat is the default action.
  program.action(() => {});
  if (subcommands.length > 0) program.addHelpText("after", "\nRun `glm-chat COMMAND --help` for a command's options.");
  program.parse(argv, { from: "user" });
  // Words that are no command (`glm-chat pul`, `glm-chat hello`): said before anything slow starts.
  if (program.args.length > 0) program.error(strayWordsMessage(program.args, subcommands.map((c) => c.name)), { exitCode: 1, code: "glm-chat.strayWords" });
  const options = program.opts<CliOptions>();
  if (options.seqLength !== undefined && options.maxNewTokens >= options.seqLength) {
    program.error(`error: --max-new-tokens ${options.maxNewTokens} leaves no room for the question in --seq-length ${options.seqLength}: ` +
      "pass a smaller --max-new-tokens or a larger --seq-length", { exitCode: 1, code: "glm-chat.noRoom" });
  }
  return options;
}
