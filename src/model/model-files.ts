// The two files a GLM-6B model directory must hold, where they come from, and the check before start-up.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_BASE_URL } from "../download/manifest.ts";
import { ModelError } from "./errors.ts";

export const MODEL_FILES = [
  { name: "glm_6b.ckpt", what: "the GLM-6B checkpoint (about 13.4 GB)" },
  { name: "ice_text.model", what: "the ChatGLM tokenizer (about 2.7 MB)" },
] as const;

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
    "a mirror serving the same file names: glm-chat pull --mirror URL, or GLM_CHAT_MIRROR=URL in the environment",
    ...(downloadFailed ? [] : [`download from ${DEFAULT_BASE_URL}: glm-chat pull --model-dir ${modelDir}`]),
    "try glm-chat offline on a tiny random model: npm run demo (in a glm-chat checkout)",
    "every download option: glm-chat pull --help",
  ];
  return `Ways forward:\n${ways.map((w) => `  - ${w}`).join("\n")}`;
}

/** Throws MODEL_FILE_MISSING naming every missing file, where it must go, and the ways to get it there. */
export function checkModelFiles(modelDir: string): void {
  const missing = missingModelFiles(modelDir);
  if (missing.length === 0) return;
  const what = missing.map((name) => `${name}, ${MODEL_FILES.find((f) => f.name === name)!.what}`).join("; ");
  const where = existsSync(modelDir) ? `missing in ${modelDir}` : `model directory ${modelDir} does not exist; it needs`;
  throw new ModelError("MODEL_FILE_MISSING", `${where}: ${what}\n${waysToGetModelFiles(modelDir, missing)}`);
}
