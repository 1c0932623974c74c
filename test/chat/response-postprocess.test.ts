// processResponse against Python's process_response, and the streaming version at every split point.
import { describe, expect, it } from "vitest";
import { processResponse, StreamingResponseProcessor } from "../../src/chat/response-postprocess.ts";

// [input, output] pairs printed by MindFormers' process_response under CPython 3.
const PYTHON_VECTORS: [string, string][] = [
  [" 你好,世界! ", "你好，世界！"],
  ["a,b", "a,b"],
  ["中,,文", "中，，文"],
  ["[[训练时间]],我", "2023年，我"],
  [",[[训练时间]]", ",2023年"],
  ["Hi:你好?ok", "Hi：你好？ok"],
  ["\u3000中文；\t", "中文；"],
  ["中!中!中", "中！中！中"],
  ["[[[训练时间]]]", "[2023年]"],
  ["a , 中", "a , 中"],
  ["x\x1cy\x1c", "x\x1cy"],
  ["\ufeffa\ufeff", "\ufeffa\ufeff"],
  ["时间]],", "时间]],"],
  ["\x85中?\x85", "中？"],
];

const ANSWERS = [
  ...PYTHON_VECTORS.map(([input]) => input),
  "  你好👋!我是人工智能助手 ChatGLM-6B,很高兴见到你,欢迎问我任何问题。 \n",
  "我的训练数据截止到[[训练时间]];之后的事我不知道?",
  "[[训练时间]]",
  "[[训练时[[训练时间]]间]]",
  "a:b;c!d?e,f 中:文;字!符?号,",
  "\n\n\t \n",
  "",
  "一,\n二!\t三 :四",
  "emoji 😀,中😀,😀中",
];

/** Streams `text` cut at `cuts` (sorted offsets) and returns the concatenated output. */
function streamed(text: string, cuts: number[]): string {
  const processor = new StreamingResponseProcessor();
  let out = "";
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    out += processor.push(text.slice(from, cut));
    from = cut;
  }
  return out + processor.finish();
}

/** A small seeded PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("processResponse", () => {
  it.each(PYTHON_VECTORS)("matches Python on %j", (input, output) => {
    expect(processResponse(input)).toBe(output);
  });
});

describe("StreamingResponseProcessor", () => {
  it("gives processResponse(whole) for every single split point", () => {
    for (const answer of ANSWERS) {
      for (let cut = 0; cut <= answer.length; cut++) {
        expect(streamed(answer, [cut]), `${JSON.stringify(answer)} cut at ${cut}`).toBe(processResponse(answer));
      }
    }
  });

  it("gives processResponse(whole) for random multi-splits of random answers", () => {
    const random = prng(42);
    const alphabet = ["中", "文", ",", "!", ":", ";", "?", " ", "\n", "\t", "[", "]", "[[训练时间]]", "训", "a", "1", "😀", "\u3000"];
    for (let trial = 0; trial < 3000; trial++) {
      const length = Math.floor(random() * 20);
      const answer = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
      const cuts = Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * (answer.length + 1)));
      cuts.sort((a, b) => a - b);
      expect(streamed(answer, cuts), `${JSON.stringify(answer)} cut at ${cuts}`).toBe(processResponse(answer));
    }
  });

  it("shows decided text at once and holds back only what the next delta could change", () => {
    const processor = new StreamingResponseProcessor();
    expect(processor.push("  你好")).toBe("你好");
    expect(processor.push(",")).toBe("，"); // after a CJK character it is already decided
    expect(processor.push("ok,")).toBe("ok");
    expect(processor.push("世界 ")).toBe("，世界");
    expect(processor.push("[[训练")).toBe(" ");
    expect(processor.push("时间]]")).toBe("2023年");
    expect(processor.push("\n")).toBe("");
    expect(processor.finish()).toBe("");
    expect(processor.raw).toBe("  你好,ok,世界 [[训练时间]]\n");
  });

  it("flushes a held-back tail at the end", () => {
    const processor = new StreamingResponseProcessor();
    expect(processor.push("答案是?")).toBe("答案是？");
    expect(processor.push(" [[训")).toBe(" ");
    expect(processor.finish()).toBe("[[训");
  });
});
