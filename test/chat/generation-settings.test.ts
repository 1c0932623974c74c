// /set NAME VALUE: validation, the listing, and what reaches the backend.
import { describe, expect, it } from "vitest";
import {
  applySetting,
  DEFAULT_GENERATION_SETTINGS as DEFAULTS,
  describeSettings,
  samplingOptionsOf,
} from "../../src/chat/generation-settings.ts";

describe("applySetting", () => {
  it.each([
    ["temperature", "0.8", { temperature: 0.8 }],
    ["top_p", "0.8", { topP: 0.8 }],
    ["top_p", "1", { topP: 1 }],
    ["top_k", "40", { topK: 40 }],
    ["max_new_tokens", "512", { maxNewTokens: 512 }],
    ["repetition_penalty", "1.1", { repetitionPenalty: 1.1 }],
    ["seed", "42", { seed: 42 }],
    ["seed", "random", { seed: undefined }],
    ["greedy", "on", { greedy: true }],
    ["greedy", "OFF", { greedy: false }],
  ] as const)("/set %s %s", (name, value, expected) => {
    expect(applySetting(DEFAULTS, name, value)).toEqual({ ...DEFAULTS, ...expected });
  });

  it.each([
    ["temperature", "0"],
    ["temperature", "hot"],
    ["top_p", "1.5"],
    ["top_p", "0"],
    ["top_k", "2.5"],
    ["top_k", "-1"],
    ["max_new_tokens", "0"],
    ["repetition_penalty", "-1"],
    ["seed", "2147483648"],
    ["seed", ""],
    ["greedy", "maybe"],
  ])("refuses /set %s %j with a clear message", (name, value) => {
    expect(() => applySetting(DEFAULTS, name, value)).toThrow(expect.objectContaining({ code: "SETTING_INVALID", message: expect.stringContaining(`${name} must be`) }));
  });

  it("names the settings when one is unknown", () => {
    expect(() => applySetting(DEFAULTS, "topp", "1")).toThrow(/Unknown setting topp\. Settings: temperature, top_p, top_k/);
    expect(() => applySetting(DEFAULTS, "constructor", "1")).toThrow(expect.objectContaining({ code: "SETTING_UNKNOWN" }));
  });
});

describe("describeSettings and samplingOptionsOf", () => {
  it("lists ChatGLM-6B chat()'s defaults", () => {
    expect(describeSettings(DEFAULTS)).toEqual([
      "temperature 0.95",
      "top_p 0.7",
      "top_k 0",
      "max_new_tokens 256",
      "repetition_penalty 1",
      "seed random",
      "greedy off",
    ]);
  });

  it("passes every parameter, greedy as do_sample false, a seed only when set", () => {
    expect(samplingOptionsOf(DEFAULTS)).toEqual({ doSample: true, temperature: 0.95, topP: 0.7, topK: 0, repetitionPenalty: 1 });
    expect(samplingOptionsOf({ ...DEFAULTS, greedy: true, seed: 7 })).toMatchObject({ doSample: false, seed: 7 });
  });
});
