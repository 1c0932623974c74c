// `glm-chat serve` options with commander: the server's own flags, and glm-chat's model/engine/sampling options from their one definition.
import { Command, Help, InvalidArgumentError, Option } from "commander";
import { addGlmChatOptions, oneShotFlagsGiven, type CliOptions } from "./cli-options.ts";
import type { AppPaths } from "../config/paths.ts";

export interface ServeOptions {
  host: string;
  port: number;
  apiKey?: string;
  cors?: string;
  maxQueue: number;
}

export class ServeOptionError extends Error {
  override name = "ServeOptionError";
  constructor(
    readonly code: "SERVE_KEY_REQUIRED" | "SERVE_OPTION_UNSUPPORTED",
    message: string,
  ) {
    super(message);
  }
}

const wholeNumber = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 0 to ${max}`);
  return n;
};

export const SERVE_DESCRIPTION = "serve the model over HTTP: an OpenAI-compatible /v1 and an Ollama-compatible /api (docs/serve.md)";

/** Loopback names and addresses: the only binds allowed without an API key. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The server's own flags; --help lists these (glm-chat's options are named in the text under them). */
function serveOwnOptions(): Option[] {
  return [
    new Option("--host <address>", "address to listen on; anything but loopback needs --api-key").env("GLM_CHAT_HOST").default("127.0.0.1"),
    new Option("--port <n>", "port to listen on (0: any free port)").env("GLM_CHAT_PORT").argParser(wholeNumber("--port", 65535)).default(8000),
    new Option("--api-key <key>", "require Authorization: Bearer KEY on every request but /health").env("GLM_CHAT_API_KEY"),
    new Option("--cors <origin>", "let browsers from ORIGIN (or *) call the API"),
    new Option("--max-queue <n>", "requests that may wait for the model; more get 503 with Retry-After").argParser(wholeNumber("--max-queue", 100000)).default(16),
  ];
}

/** Parses `glm-chat serve ARGS` once; throws CommanderError for --help and bad flags (commander has printed them). */
export function parseServeArgs(argv: string[], paths: AppPaths): { serve: ServeOptions; cli: CliOptions } {
  const own = serveOwnOptions();
  const program = new Command("glm-chat serve")
    .description(SERVE_DESCRIPTION)
    .addHelpText("after", "\nAlso takes glm-chat's model, engine and sampling options (--model-dir, --engine, --device, --device-id,\n--precision, --seq-length, --python, --force, --truncate-long-query, and --max-new-tokens, --temperature,\n--top-p, --top-k, --repetition-penalty, --seed, --greedy as the defaults each request may override).")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const option of own) program.addOption(option);
  addGlmChatOptions(program, paths);
  listOnlyOwnInHelp(program, own);
  program.action(() => {});
  program.parse(argv, { from: "user" });
  const { host, port, apiKey, cors, maxQueue, ...cli } = program.opts<ServeOptions & CliOptions>();
  const serve: ServeOptions = { host, port, apiKey, cors, maxQueue };
  const given = oneShotFlagsGiven(cli);
  if (given.length) throw new ServeOptionError("SERVE_OPTION_UNSUPPORTED", `${given.join(", ")} ${given.length === 1 ? "is a" : "are"} one-shot option${given.length === 1 ? "" : "s"}; glm-chat serve does not take ${given.length === 1 ? "it" : "them"}.`);
  if (!isLoopback(serve.host) && !serve.apiKey) {
    throw new ServeOptionError("SERVE_KEY_REQUIRED", `Refusing to listen on ${serve.host} without an API key: anyone who can reach the port could use the model. Pass --api-key KEY (or set GLM_CHAT_API_KEY), or listen on 127.0.0.1.`);
  }
  return { serve, cli };
}

/** --help lists `own` (and --help); an unknown flag's "Did you mean …?" still draws on every option (commander asks the same list). */
function listOnlyOwnInHelp(program: Command, own: readonly Option[]): void {
  let listing = false;
  program.configureHelp({ visibleOptions: (cmd) => new Help().visibleOptions(cmd).filter((o) => !listing || own.includes(o) || o.long === "--help") });
  const helpInformation = program.helpInformation.bind(program);
  program.helpInformation = (context) => {
    listing = true;
    try {
      return helpInformation(context);
    } finally {
      listing = false;
    }
  };
}
