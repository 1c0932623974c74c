// renderMarkdown: lists, code blocks and tables as terminal text; CJK-wide table columns; NO_COLOR plain.
import { describe, expect, it } from "vitest";
import stringWidth from "string-width";
import { renderMarkdown } from "../../src/ui/markdown.ts";

describe("renderMarkdown", () => {
  it("renders emphasis, lists and a code block", () => {
    const out = renderMarkdown("你好 **粗体** `x`\n\n- 一\n- 二\n\n1. a\n2. b\n\n```python\ndef f():\n    return 1\n```\n", 60, false);
    expect(out).toContain("你好 粗体 x");
    expect(out).toMatch(/\* 一\n\s+\* 二/);
    expect(out).toMatch(/1\. a\n\s+2\. b/);
    expect(out).toContain("def f():\n      return 1");
    expect(out).not.toContain("```");
    expect(out).not.toContain("**");
  });

  it("lines a table up by display width, CJK and emoji included", () => {
    const out = renderMarkdown("| 名 | 值 |\n|---|---|\n| 中文字 | 1 |\n| 👋 | 22 |\n", 40, false);
    const rows = out.split("\n").filter((l) => l.startsWith("│") || l.startsWith("┌"));
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const widths = new Set(rows.map((l) => stringWidth(l)));
    expect(widths.size).toBe(1);
    expect(out).toContain("中文字");
  });

  it("keeps a loose numbered list numbered, and renders block by block like the whole", () => {
    const text = "intro\n\n1. a\n\n2. b\n\n```js\nx\n\ny\n```\n\nend";
    const out = renderMarkdown(text, 60, false);
    expect(out).toMatch(/1\. a[\s\S]*2\. b/);
    expect(out).toMatch(/x\n\s*\n\s+y/);
    expect(renderMarkdown(text, 60, false)).toBe(out);
  });

  it("has no escape codes without colour", () => {
    expect(renderMarkdown("# T\n\n**b** `c`", 40, false)).not.toMatch(/\u001b\[/);
  });
});
