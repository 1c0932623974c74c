// The model files glm-chat can pull, their default source, and mirror base URLs (flags, GLM_CHAT_MIRROR).
import { DownloadError } from "./errors.ts";

export const DEFAULT_BASE_URL = "https://ascend-repo-modelzoo.obs.cn-east-2.myhuaweicloud.com/XFormer_for_mindspore/glm/";

export interface ManifestEntry {
  /** File name in the model dir, and the path relative to every base URL. */
  name: string;
  what: string;
  /** Rough size for the plan before the server says; exact sizes come from the server. */
  approxBytes: number;
  /** Exact size and SHA-256 when known; MindFormers publishes neither for GLM-6B. */
  size?: number;
  sha256?: string;
  defaultBaseUrl: string;
}

export const MODEL_MANIFEST: readonly ManifestEntry[] = [
  { name: "glm_6b.ckpt", what: "GLM-6B weights", approxBytes: 13_415_858_176, defaultBaseUrl: DEFAULT_BASE_URL },
  { name: "ice_text.model", what: "ChatGLM tokenizer", approxBytes: 2_706_249, defaultBaseUrl: DEFAULT_BASE_URL },
];

/** Validates a mirror base URL and makes sure it ends in "/" so relative paths join under it. */
export function parseMirror(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch (err) {
    throw new DownloadError("DOWNLOAD_BAD_MIRROR", `mirror "${raw}" is not a URL (expected e.g. https://host/path/)`, { cause: err });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new DownloadError("DOWNLOAD_BAD_MIRROR", `mirror "${raw}" must be an http:// or https:// URL`);
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url.toString();
}

/** Mirrors from flags first, then GLM_CHAT_MIRROR (comma-separated); duplicates dropped, order kept. */
export function resolveMirrors(flags: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const fromEnv = (env.GLM_CHAT_MIRROR ?? "").split(",").filter((s) => s.trim() !== "");
  return [...new Set([...flags, ...fromEnv].map(parseMirror))];
}

/** Every URL to try for one file, in order: the mirrors, then the file's default source. */
export function sourceUrls(entry: ManifestEntry, mirrors: readonly string[]): string[] {
  const bases = [...mirrors, entry.defaultBaseUrl];
  return [...new Set(bases.map((base) => new URL(entry.name, base).toString()))];
}
