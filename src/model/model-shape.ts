// A model directory's shape for the memory estimate: glm_config.json when present, else GLM-6B's widths sized by the checkpoint.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkpointBytesOf, DEFAULT_SEQ_LENGTH, GLM6B_FP16_BYTES, GLM6B_WIDTHS, inferLayers, type ModelShape } from "./memory-estimate.ts";

/** glm_config.json's fields the estimate reads (the file holds more: token ids, heads). */
interface GlmConfig {
  num_layers?: unknown;
  hidden_size?: unknown;
  inner_hidden_size?: unknown;
  vocab_size?: unknown;
  seq_length?: unknown;
}

function readGlmConfig(modelDir: string): GlmConfig | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(modelDir, "glm_config.json"), "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as GlmConfig) : undefined;
  } catch {
    return undefined; // absent or unreadable: the engine itself reports a broken one (ModelConfigInvalid)
  }
}

const positive = (value: unknown): number | undefined => (typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined);

/**
 * The shape the engine will build from `modelDir`. `seqLength` is --seq-length (or GLM_CHAT_SEQ_LENGTH, which
 * commander folds into it); else glm_config.json's seq_length; else DEFAULT_SEQ_LENGTH.
 */
export function modelShapeOf(modelDir: string, seqLength?: number): ModelShape {
  const config = readGlmConfig(modelDir) ?? {};
  const widths = {
    hidden: positive(config.hidden_size) ?? GLM6B_WIDTHS.hidden,
    inner: positive(config.inner_hidden_size) ?? GLM6B_WIDTHS.inner,
    vocab: positive(config.vocab_size) ?? GLM6B_WIDTHS.vocab,
  };
  const ckptPath = join(modelDir, "glm_6b.ckpt");
  const present = existsSync(ckptPath) ? statSync(ckptPath).size : undefined;
  const configLayers = positive(config.num_layers);
  // No checkpoint yet: the one glm_config.json describes, or the real GLM-6B that `pull` fetches.
  const ckptBytes = present ?? (configLayers ? checkpointBytesOf({ ...widths, layers: configLayers }) : GLM6B_FP16_BYTES);
  return {
    ckptBytes,
    layers: configLayers ?? inferLayers(ckptBytes, widths),
    ...widths,
    seqLength: seqLength || positive(config.seq_length) || DEFAULT_SEQ_LENGTH,
  };
}
