#!/usr/bin/env node
// The installed `glm-chat` command: registers tsx's loader and runs the TypeScript CLI in this process.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// The package's own tsconfig (JSX: react-jsx), wherever the command is run from: tsx would look in the cwd.
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
// React's production build: the development one does several times the work per rendered frame.
process.env.NODE_ENV ??= "production";
await loadInkForThisTerminal();
await import("../src/cli.tsx");

/**
 * Ink decides once, when it is first imported, whether it runs in CI (CI or CONTINUOUS_INTEGRATION
 * set); there it draws nothing until exit. A person at an interactive terminal is never CI, so for
 * that one import the variables read "0"; they are restored before anything else sees them.
 */
async function loadInkForThisTerminal() {
  const names = ["CI", "CONTINUOUS_INTEGRATION"];
  const saved = names.map((name) => [name, process.env[name]]);
  const interactive = process.stdin.isTTY && process.stdout.isTTY;
  if (interactive) for (const name of names) if (name in process.env) process.env[name] = "0";
  try {
    await import("ink");
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
