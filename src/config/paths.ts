// Where glm-chat keeps its files: XDG data (venv, sessions), state (logs) and cache dirs, and the repo's own dirs.
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface AppPaths {
  /** The checkout / installed package root (holds python-sidecar/). */
  packageRoot: string;
  sidecarDir: string;
  dataDir: string;
  stateDir: string;
  cacheDir: string;
  venvDir: string;
  logDir: string;
}

export function appPaths(env: NodeJS.ProcessEnv = process.env): AppPaths {
  const home = homedir();
  const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const dataDir = join(env.XDG_DATA_HOME || join(home, ".local", "share"), "glm-chat");
  const stateDir = join(env.XDG_STATE_HOME || join(home, ".local", "state"), "glm-chat");
  const cacheDir = join(env.XDG_CACHE_HOME || join(home, ".cache"), "glm-chat");
  return {
    packageRoot,
    sidecarDir: join(packageRoot, "python-sidecar"),
    dataDir,
    stateDir,
    cacheDir,
    venvDir: env.GLM_CHAT_VENV || join(dataDir, "venv"),
    logDir: join(stateDir, "logs"),
  };
}
