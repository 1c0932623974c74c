// `npm run demo`: chats with the tiny random GLM model (made on first use), to try glm-chat without 13 GB of weights.
import { join } from "node:path";
import { execa } from "execa";
import { appPaths } from "../src/config/paths.ts";
import { installReporter } from "../src/python-env/install-progress-view.ts";
import { ensurePythonEnv } from "../src/python-env/python-env.ts";

const paths = appPaths();
const env = await ensurePythonEnv({
  explicitPython: process.env.GLM_CHAT_PYTHON,
  venvDir: paths.venvDir,
  sidecarDir: paths.sidecarDir,
  mindformers: /--engine[= ]mindformers\b/i.test(process.argv.slice(2).join(" ")),
  onEvent: installReporter(process.stderr, "demo: ").onEvent,
  logFile: join(paths.logDir, "python-install.log"),
});
const tinyDir = join(paths.packageRoot, ".cache", "tiny-model");
await execa(env.python, [join(paths.packageRoot, "python-sidecar", "tools", "make_tiny_model.py"), "--out", tinyDir], { stdio: "inherit" });
const cli = execa(process.execPath, [join(paths.packageRoot, "bin", "glm-chat.js"), "--model-dir", tinyDir,
  "--python", env.python, ...process.argv.slice(2)], { stdio: "inherit", reject: false });
process.exitCode = (await cli).exitCode ?? 1;
