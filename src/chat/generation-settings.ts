// Answer length and sampling settings: ChatGLM-6B chat()'s defaults, `/set NAME VALUE` parsing and validation.
import type { SamplingOptions } from "./backend.ts";

export interface GenerationSettings {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  repetitionPenalty: number;
  /** undefined = a new random seed per answer. */
  seed: number | undefined;
  /** Always take the likeliest token. */
  greedy: boolean;
}

export const DEFAULT_GENERATION_SETTINGS: GenerationSettings = {
  maxNewTokens: 256,
  temperature: 0.95,
  topP: 0.7,
  topK: 0,
  repetitionPenalty: 1.0,
  seed: undefined,
  greedy: false,
};

/**
 * The largest whole number a length, top_k or seed may be: the engines hold them as int32 (MindSpore's
 * tensors, numpy's seeding), and msgpack carries larger JS numbers as floats, which the sidecar refuses.
 */
export const MAX_WHOLE_NUMBER = 2 ** 31 - 1;

export class SettingError extends Error {
  override name = "SettingError";
  constructor(
    readonly code: "SETTING_UNKNOWN" | "SETTING_INVALID",
    message: string,
  ) {
    super(message);
  }
}

interface SettingSpec {
  key: keyof GenerationSettings;
  hint: string;
  parse(value: string): GenerationSettings[keyof GenerationSettings] | undefined;
}

const number = (ok: (n: number) => boolean) => (value: string) => {
  const n = Number(value);
  return value.trim() !== "" && Number.isFinite(n) && ok(n) ? n : undefined;
};
const integer = (ok: (n: number) => boolean) => number((n) => Number.isInteger(n) && n <= MAX_WHOLE_NUMBER && ok(n));
const BOOLEANS: Record<string, boolean> = { on: true, true: true, yes: true, "1": true, off: false, false: false, no: false, "0": false };

/** The /set names, as the wire and ChatGLM's generate() spell them. */
export const SETTINGS: Readonly<Record<string, SettingSpec>> = {
  temperature: { key: "temperature", hint: "a number above 0, e.g. 0.95 (for always the likeliest token: greedy)", parse: number((n) => n > 0) },
  top_p: { key: "topP", hint: "a number above 0 and at most 1, e.g. 0.7", parse: number((n) => n > 0 && n <= 1) },
  top_k: { key: "topK", hint: "a whole number, 0 = off (at most 2147483647)", parse: integer((n) => n >= 0) },
  max_new_tokens: { key: "maxNewTokens", hint: "a whole number from 1 to 2147483647", parse: integer((n) => n >= 1) },
  repetition_penalty: { key: "repetitionPenalty", hint: "a number above 0, 1 = off", parse: number((n) => n > 0) },
  seed: {
    key: "seed",
    hint: "a whole number from 0 to 2147483647, or random",
    parse: (v) => (v === "random" ? undefined : integer((n) => n >= 0 && n <= 2 ** 31 - 1)(v)),
  },
  greedy: { key: "greedy", hint: "on or off", parse: (v) => BOOLEANS[v.toLowerCase()] },
};

/**
 * One setting's value from text, checked against the engine's limits (docs/protocol.md's generate_request), as
 * `/set` and the command-line options both take it; throws SettingError naming `label` and the allowed range.
 */
export function parseSettingValue(name: string, value: string, label = name): number | boolean | undefined {
  const spec = Object.hasOwn(SETTINGS, name) ? SETTINGS[name] : undefined;
  if (!spec) throw new SettingError("SETTING_UNKNOWN", `Unknown setting ${name}. Settings: ${Object.keys(SETTINGS).join(", ")}.`);
  const parsed = spec.parse(value.trim());
  if (parsed === undefined && !(spec.key === "seed" && value.trim() === "random")) {
    throw new SettingError("SETTING_INVALID", `${label} must be ${spec.hint}; got ${JSON.stringify(value)}.`);
  }
  return parsed as number | boolean | undefined;
}

/** The settings with `name` set to `value`; throws SettingError with words for the user. */
export function applySetting(settings: GenerationSettings, name: string, value: string): GenerationSettings {
  const parsed = parseSettingValue(name, value);
  return { ...settings, [SETTINGS[name]!.key]: parsed };
}

/** "temperature 0.95" lines, for `/set` alone. */
export function describeSettings(settings: GenerationSettings): string[] {
  return Object.entries(SETTINGS).map(([name, spec]) => {
    const value = settings[spec.key];
    const shown = value === undefined ? "random" : typeof value === "boolean" ? (value ? "on" : "off") : String(value);
    return `${name} ${shown}`;
  });
}

/**
 * What a generate request carries; greedy switches sampling off. With `only`, just the settings it
 * holds (the rest is left to the backend's defaults).
 */
export function samplingOptionsOf(settings: GenerationSettings, only?: Partial<GenerationSettings>): SamplingOptions {
  const has = (key: keyof GenerationSettings) => only === undefined || key in only;
  const options: SamplingOptions = {};
  if (has("greedy")) options.doSample = !settings.greedy;
  if (has("temperature")) options.temperature = settings.temperature;
  if (has("topP")) options.topP = settings.topP;
  if (has("topK")) options.topK = settings.topK;
  if (has("repetitionPenalty")) options.repetitionPenalty = settings.repetitionPenalty;
  if (has("seed") && settings.seed !== undefined) options.seed = settings.seed;
  return options;
}
