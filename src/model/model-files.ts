// The two files a GLM-6B model directory must hold, where they come from, and the check before start-up.
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pullCommand } from "../config/invocation.ts";
import { DEFAULT_BASE_URL } from "../download/manifest.ts";
import { ModelError } from "./errors.ts";

export const MODEL_FILES = [
  { name: "glm_6b.ckpt", what: "the GLM-6B checkpoint (about 13.4 GB)" },
  { name: "ice_text.model", what: "the ChatGLM tokenizer (about 2.7 MB)" },
] as const;

/** Where the model lives unless --model-dir or GLM_CHAT_MODEL_DIR says otherwise; start-up downloads only into it. */
export function defaultModelDir(dataDir: string): string {
  return join(dataDir, "models", "glm-6b");
}

function holdsModelFiles(dir: string): boolean {
  return MODEL_FILES.every((f) => existsSync(join(dir, f.name)));
}

/** A folder beside a mistyped `modelDir` that holds both model files, if there is exactly one. */
export function nearbyModelDir(modelDir: string): string | undefined {
  const parent = dirname(modelDir);
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return undefined;
  }
  const found = names.map((n) => join(parent, n)).filter((d) => d !== modelDir && holdsModelFiles(d));
  return found.length === 1 ? found[0] : undefined;
}

/** When `modelDir` is a file (the .ckpt itself, say): what is wrong, and the folder to pass instead; else undefined. */
export function modelDirIsAFile(modelDir: string): { problem: string; fix: string } | undefined {
  if (!existsSync(modelDir) || statSync(modelDir).isDirectory()) return undefined;
  const folder = dirname(modelDir);
  const which = MODEL_FILES.some((f) => f.name === basename(modelDir)) ? "one of the model files" : "a file";
  const fix = holdsModelFiles(folder)
    ? `pass the folder it is in, which holds both model files: --model-dir ${folder}`
    : `pass the folder that holds glm_6b.ckpt and ice_text.model (${basename(modelDir)} is in ${folder})`;
  return { problem: `--model-dir ${modelDir} is ${which}, not a directory`, fix };
}

/** The model files not in `modelDir` (all of them when the directory is missing). */
export function missingModelFiles(modelDir: string): string[] {
  const isDir = existsSync(modelDir) && statSync(modelDir).isDirectory();
  return MODEL_FILES.filter((f) => !isDir || !existsSync(join(modelDir, f.name))).map((f) => f.name);
}

/**
 * What a user can do about missing model files from where they are, in a few lines. `downloadFailed`:
 * the default source was just tried and failed, so it is not offered again.
 */
export function waysToGetModelFiles(modelDir: string, missing: readonly string[], downloadFailed = false): string {
  const target = existsSync(modelDir) ? `${modelDir}/` : `${modelDir}/ (mkdir -p it first)`;
  const ways = [
    `copy ${missing.join(" and ")} into ${target} from anywhere you have them (another machine, OBS, a disk),` +
      "\n    or pass --model-dir DIR where they already are",
    `a mirror serving the same file names: ${pullCommand("--mirror URL")}, or GLM_CHAT_MIRROR=URL in the environment`,
    ...(downloadFailed ? [] : [`download from ${DEFAULT_BASE_URL}: ${pullCommand(`--model-dir ${modelDir}`)}`]),
    "try glm-chat offline on a tiny random model: npm run demo (in a glm-chat checkout)",
    `every download option: ${pullCommand("--help")}`,
  ];
  return `Ways forward:\n${ways.map((w) => `  - ${w}`).join("\n")}`;
}

/**
 * Throws MODEL_DIR_NOT_A_DIRECTORY when `modelDir` is a file (e.g. the .ckpt itself), naming its folder; else
 * MODEL_FILE_MISSING naming every missing file, where it must go, and the ways to get it there.
 */
export function checkModelFiles(modelDir: string): void {
  const notADirectory = modelDirIsAFile(modelDir);
  if (notADirectory) throw new ModelError("MODEL_DIR_NOT_A_DIRECTORY", `${notADirectory.problem}: ${notADirectory.fix}`);
  const missing = missingModelFiles(modelDir);
  if (missing.length === 0) return;
  if (!existsSync(modelDir)) {
    const near = nearbyModelDir(modelDir);
    const check = near ? `check the path (did you mean --model-dir ${near}? it holds both files)` : "check the path";
    throw new ModelError("MODEL_FILE_MISSING", `model directory ${modelDir} does not exist: ${check}, or download the model there ` +
      `(about 13.4 GB): ${pullCommand(`--model-dir ${modelDir}`)}\n${waysToGetModelFiles(modelDir, missing)}`);
  }
  const what = missing.map((name) => `${name}, ${MODEL_FILES.find((f) => f.name === name)!.what}`).join("; ");
  throw new ModelError("MODEL_FILE_MISSING", `missing in ${modelDir}: ${what}\n${waysToGetModelFiles(modelDir, missing)}`);
}
