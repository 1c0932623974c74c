// How glm-chat was started, for the words it prints: `npm start --` in a checkout (not on PATH), else `glm-chat`.

/** The command a user types to run glm-chat the way this process was run: "npm start --" under `npm start`. */
export function glmChatCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_lifecycle_event === "start" ? "npm start --" : "glm-chat";
}

/** `glm-chat pull …` as the user can type it from here. */
export function pullCommand(args = "", env: NodeJS.ProcessEnv = process.env): string {
  return `${glmChatCommand(env)} pull${args ? ` ${args}` : ""}`;
}

/** Run by `npm start -- … --json`, npm has already written its "> glm-chat@x start" banner to stdout: say so, and the form without it. */
export function npmBannerNote(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  if (!argv.includes("--json")) return undefined;
  if (env.npm_lifecycle_event !== "start" || env.npm_config_loglevel === "silent") return undefined;
  const rest = argv.join(" ");
  return `glm-chat: npm printed its "> glm-chat start" lines on stdout ahead of this JSON; for the JSON alone run\n` +
    `  npm start --silent -- ${rest}   (or: node bin/glm-chat.js ${rest})\n`;
}
