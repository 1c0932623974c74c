// `npm test`: sets up the sidecar's Python and the tiny model, then runs vitest and pytest; fails if either fails.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { appPaths } from "../src/config/paths.ts";
import { installReporter } from "../src/python-env/install-progress-view.ts";
import { ensurePythonEnv } from "../src/python-env/python-env.ts";

const paths = appPaths();
const say = (line: string) => process.stdout.write(`[test-all] ${line}\n`);

const env = await ensurePythonEnv({
  explicitPython: process.env.GLM_CHAT_PYTHON,
  venvDir: paths.venvDir,
  sidecarDir: paths.sidecarDir,
  extraRequirements: ["requirements-dev.txt"],
  // The suite runs both engines.
  mindformers: true,
  onEvent: installReporter(process.stdout, "[test-all] ").onEvent,
  logFile: join(paths.logDir, "python-install.log"),
});
say(`sidecar Python: ${env.python} (${env.version}${env.managed ? ", managed venv" : ""})`);

const tinyDir = process.env.GLM_CHAT_TINY_MODEL_DIR ?? join(paths.packageRoot, ".cache", "tiny-model");
await execa(env.python, [join(paths.packageRoot, "python-sidecar", "tools", "make_tiny_model.py"), "--out", tinyDir], { stdio: "inherit" });

// One layer at GLM-6B's full width (2.54 GB, written in ~30 s, kept with a stamp): the memory tests' real-width model.
const wideDir = process.env.GLM_CHAT_WIDE_MODEL_DIR ?? join(paths.packageRoot, ".cache", "glm-6b-1layer");
await execa(env.python, [join(paths.packageRoot, "python-sidecar", "tools", "make_tiny_model.py"), "--preset", "glm-6b-1layer", "--out", wideDir], { stdio: "inherit" });

// The CPU kernels, built once here into one folder every test's sidecar shares (each test has its own caches
// otherwise, and a build takes seconds that a busy machine stretches past a test's deadline).
const kernelDir = join(paths.packageRoot, ".cache", "kernels");
await execa(env.python, ["-c", `import sys
from glm_sidecar.engine.native.kernels.build import build_kernel
from glm_sidecar.engine.native import quantize_kernel
path, how = build_kernel(sys.argv[1])
print("CPU kernels: %s (%s); quantizer: %s" % (path, how, quantize_kernel.load(sys.argv[1]).how))`, kernelDir], { stdio: "inherit", cwd: join(paths.packageRoot, "python-sidecar") });

// Tests run on CPU even where a GPU or NPU is visible: the tiny model and the numbers stay comparable.
const testEnv = { GLM_CHAT_PYTHON: env.python, GLM_CHAT_TINY_MODEL_DIR: tinyDir, GLM_CHAT_WIDE_MODEL_DIR: wideDir, GLM_CHAT_DEVICE: "CPU", GLM_CHAT_KERNEL_DIR: kernelDir };
const run = async (name: string, file: string, args: string[]) => {
  say(`running ${name}`);
  const result = await execa(file, args, { stdio: "inherit", reject: false, env: testEnv, cwd: paths.packageRoot });
  return result.exitCode ?? 1;
};
const vitestBin = join(paths.packageRoot, "node_modules", "vitest", "vitest.mjs");
const TERMINAL_E2E = "test/e2e/tui-tmux.test.ts";
// At least two test files at once: vitest's default (cores - 1) runs one at a time on CI's two cores, where the
// e2e files mostly wait on their sidecars (491 s -> 287 s for the batch with two).
const workers = ["--maxWorkers", String(Math.max(2, availableParallelism() - 1))];
const vitestMain = await run("vitest", process.execPath, [vitestBin, "run", "--exclude", TERMINAL_E2E, ...workers]);
// The tmux test watches a real terminal against wall-clock waits: it runs alone, after the parallel
// batch has finished, and gets one retry (both runs' output stays in the log).
const vitestTerminal = await run("vitest (terminal e2e)", process.execPath, [vitestBin, "run", TERMINAL_E2E, "--retry", "1"]);
const vitest = vitestMain !== 0 ? vitestMain : vitestTerminal;
// Two pytest processes (more on a bigger box, at most 4): one spends much of its time in single-threaded graph
// compiles, so a second one nearly halves the suite on CI's two cores (407 s -> 242 s). --dist loadfile keeps each
// module's tests, and its module-scoped engines, in one process. Without pytest-xdist (an explicit --python that
// lacks requirements-dev.txt) the suite runs in one process.
const hasXdist = (await execa(env.python, ["-c", "import xdist"], { reject: false })).exitCode === 0;
const parallel = hasXdist ? ["-n", "auto", "--maxprocesses", "4", "--dist", "loadfile"] : [];
if (!hasXdist) say("pytest-xdist is missing (pip install -r python-sidecar/requirements-dev.txt): pytest runs in one process");
const pytest = await run("pytest", env.python, ["-m", "pytest", "python-sidecar/tests", "-q", "-p", "no:cacheprovider", ...parallel]);
// GLM_CHAT_EXTRA_NODE (set by .ci/run to a Node 22): the vitest batch again under that Node, binary and workers alike.
const extraNode = process.env.GLM_CHAT_EXTRA_NODE;
// Under that Node, one end-to-end file with the real sidecar stands for the rest (chat-with-real-sidecar: supervisor,
// sockets, a crash and a restart); the other e2e files spend their time in the sidecar's Python, the same under either
// Node (oneshot alone is two minutes of both cores). Every other test runs there too.
const NODE_AGNOSTIC = ["oneshot", "quantize", "serve", "real-width-memory", "package-install"].flatMap((f) => ["--exclude", `test/e2e/${f}.test.ts`]);
const vitestExtra = extraNode ? await run(`vitest on ${extraNode}`, extraNode, [vitestBin, "run", "--exclude", TERMINAL_E2E, ...NODE_AGNOSTIC, ...workers]) : 0;
say(`vitest exit ${vitestMain} (terminal e2e ${vitestTerminal}${extraNode ? `, on ${extraNode}: ${vitestExtra}` : ""}), pytest exit ${pytest}`);
process.exit(vitest !== 0 || pytest !== 0 || vitestExtra !== 0 ? 1 : 0);
