// Imports a UI module, and Ink with it, only when a command draws: -p, serve, doctor and quantize start without Ink.

/**
 * Runs `load` (a dynamic import of a src/ui module or of a command that renders one). Ink decides once, when it is
 * first imported, whether it runs in CI (CI or CONTINUOUS_INTEGRATION set), and there draws nothing until exit. A
 * person at an interactive terminal is never CI, so during that import the variables read "0"; they are restored
 * before anything else sees them.
 */
export async function loadUi<T>(load: () => Promise<T>, interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY)): Promise<T> {
  const names = ["CI", "CONTINUOUS_INTEGRATION"] as const;
  const saved = names.map((name) => [name, process.env[name]] as const);
  if (interactive) for (const name of names) if (name in process.env) process.env[name] = "0";
  try {
    return await load();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
