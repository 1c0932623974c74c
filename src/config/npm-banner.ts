// Run by `npm start -- … --json`, npm has already written its "> glm-chat@x start" banner to stdout: say so, and the form without it.

/** The note for stderr when npm's banner went to stdout ahead of machine-readable output, else undefined. */
export function npmBannerNote(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  if (!argv.includes("--json")) return undefined;
  if (env.npm_lifecycle_event !== "start" || env.npm_config_loglevel === "silent") return undefined;
  const rest = argv.join(" ");
  return `glm-chat: npm printed its "> glm-chat start" lines on stdout ahead of this JSON; for the JSON alone run\n` +
    `  npm start --silent -- ${rest}   (or: node bin/glm-chat.js ${rest})\n`;
}
