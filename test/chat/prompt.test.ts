// Checks buildChatGlmPrompt against hand-written ChatGLM-6B chat() prompts.
import { describe, expect, it } from "vitest";
import { buildChatGlmPrompt, type ChatRound } from "../../src/chat/prompt.ts";

describe("buildChatGlmPrompt", () => {
  it("sends the bare query when there is no history", () => {
    expect(buildChatGlmPrompt([], "你好")).toBe("你好");
  });

  it("keeps a first query verbatim, spaces, tabs and newlines included", () => {
    expect(buildChatGlmPrompt([], "  line one\n\tline  two  ")).toBe("  line one\n\tline  two  ");
  });

  it("numbers two rounds from 0", () => {
    const history: ChatRound[] = [{ query: "你好", answer: "你好👋！我是人工智能助手 ChatGLM-6B。" }];
    expect(buildChatGlmPrompt(history, "晚上睡不着应该怎么办")).toBe(
      "[Round 0]\n问：你好\n答：你好👋！我是人工智能助手 ChatGLM-6B。\n[Round 1]\n问：晚上睡不着应该怎么办\n答：",
    );
  });

  it("builds three rounds, keeping multi-line text, tabs and runs of spaces", () => {
    const history: ChatRound[] = [
      { query: "q0", answer: "a0" },
      { query: "列出：\n1.\t苹果\n2.  香蕉", answer: "好的：\n\n- 苹果\n- 香蕉   " },
    ];
    expect(buildChatGlmPrompt(history, " 还有呢？ ")).toBe(
      "[Round 0]\n问：q0\n答：a0\n" +
        "[Round 1]\n问：列出：\n1.\t苹果\n2.  香蕉\n答：好的：\n\n- 苹果\n- 香蕉   \n" +
        "[Round 2]\n问： 还有呢？ \n答：",
    );
  });

  it("includes an interrupted round's partial answer as it is", () => {
    const history: ChatRound[] = [{ query: "写一首诗", answer: "床前明月", interrupted: true }];
    expect(buildChatGlmPrompt(history, "继续")).toBe("[Round 0]\n问：写一首诗\n答：床前明月\n[Round 1]\n问：继续\n答：");
  });
});
