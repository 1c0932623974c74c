// A request's length and sampling fields over the server's defaults; temperature 0 means greedy, as in OpenAI's and Ollama's APIs.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { MAX_WHOLE_NUMBER, type GenerationSettings } from "../chat/generation-settings.ts";

/**
 * The numbers a request may carry, bounded to what the engine takes (docs/serve.md): whole numbers as
 * int32, floats finite; a repetition penalty far from 1 overflows the sampler's float32 logits.
 */
export const wholeNumber = (min: number) => z.number().int().min(min).max(MAX_WHOLE_NUMBER);
export const finiteNumber = () => z.number().finite();
export const TEMPERATURE_MAX = 100;
export const REPETITION_PENALTY_RANGE = [0.001, 1000] as const;
export const repetitionPenalty = () => finiteNumber().min(REPETITION_PENALTY_RANGE[0]).max(REPETITION_PENALTY_RANGE[1]);

export interface RequestSampling {
  maxTokens?: number | null;
  temperature?: number | null;
  topP?: number | null;
  topK?: number | null;
  repetitionPenalty?: number | null;
  seed?: number | null;
}

export function settingsFor(defaults: GenerationSettings, request: RequestSampling): GenerationSettings {
  const settings = { ...defaults };
  if (request.maxTokens != null) settings.maxNewTokens = request.maxTokens;
  if (request.temperature != null) {
    settings.greedy = request.temperature === 0;
    if (request.temperature > 0) settings.temperature = request.temperature;
  }
  if (request.topP != null) settings.topP = request.topP;
  if (request.topK != null) settings.topK = request.topK;
  if (request.repetitionPenalty != null) settings.repetitionPenalty = request.repetitionPenalty;
  if (request.seed != null) settings.seed = request.seed;
  return settings;
}

/** `stop` as a list, empty strings dropped (they would stop before the first character). */
export function stopList(stop: string | readonly string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (typeof stop === "string" ? [stop] : [...stop]).filter((s) => s !== "");
}

/** A random id for a completion: `prefix-` and 24 hex digits. */
export function completionId(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString("hex")}`;
}
