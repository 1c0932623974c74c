// The two files a GLM-6B model directory must hold, where they come from, and the check before start-up.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { SidecarError } from "../sidecar/errors.ts";

export const DOWNLOAD_BASE = "https://ascend-repo-modelzoo.obs.cn-east-2.myhuaweicloud.com/XFormer_for_mindspore/glm/";

export const MODEL_FILES = [
  { name: "glm_6b.ckpt", what: "the GLM-6B checkpoint (about 13.4 GB)" },
  { name: "ice_text.model", what: "the ChatGLM tokenizer (about 2.7 MB)" },
] as const;

/** Throws MODEL_FILE_MISSING naming every missing file, its URL, and where it must go. */
export function checkModelFiles(modelDir: string): void {
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) {
    throw new SidecarError(
      "MODEL_FILE_MISSING",
      `model directory ${modelDir} does not exist.\n` +
        `Create it and put ${MODEL_FILES.map((f) => f.name).join(" and ")} there, or pass --model-dir DIR.`,
    );
  }
  const missing = MODEL_FILES.filter((f) => !existsSync(join(modelDir, f.name)));
  if (missing.length === 0) return;
  const lines = missing.map((f) => `  ${f.name}: ${f.what}\n    curl -L -C - -o ${join(modelDir, f.name)} ${DOWNLOAD_BASE}${f.name}`);
  throw new SidecarError(
    "MODEL_FILE_MISSING",
    `missing in ${modelDir}:\n${lines.join("\n")}\n` +
      "(or `glm-chat pull --model-dir DIR`, or pass --model-dir DIR where the files already are;\n" +
      " `npm run demo` chats with a tiny random model)",
  );
}
