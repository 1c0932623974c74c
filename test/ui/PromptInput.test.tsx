// The prompt line's cursor: the character under it in inverse video, a blank at the end or on a line break.
import { beforeAll, describe, expect, it } from "vitest";
import type { PromptText } from "../../src/ui/line-editor.ts";

let renderPrompt: (prompt: PromptText, busy?: boolean) => string;
beforeAll(async () => {
  // Inverse video is a style: colours must be on when Ink (and chalk) load; later test files in this
  // worker get the environment back as it was.
  const saved = process.env.FORCE_COLOR;
  process.env.FORCE_COLOR = "1";
  const { render } = await import("ink-testing-library");
  const { PromptInput } = await import("../../src/ui/PromptInput.tsx");
  if (saved === undefined) delete process.env.FORCE_COLOR;
  else process.env.FORCE_COLOR = saved;
  renderPrompt = (prompt, busy = false) => {
    const app = render(<PromptInput prompt={prompt} busy={busy} />);
    const frame = app.lastFrame() ?? "";
    app.unmount();
    return frame.replace(/\u001b\[(?!7m|27m)[0-9;]*m/g, "").replace(/\u001b\[7m/g, "[").replace(/\u001b\[27m/g, "]");
  };
});

describe("PromptInput", () => {
  it("shows the character under the cursor in inverse video", () => {
    expect(renderPrompt({ text: "abcd", cursor: 2 })).toBe("› ab[c]d");
    expect(renderPrompt({ text: "a👋🏽b", cursor: 1 })).toBe("› a[👋🏽]b");
  });

  it("shows an inverse blank at the end and before a line break", () => {
    expect(renderPrompt({ text: "abc", cursor: 3 })).toBe("› abc[ ]");
    expect(renderPrompt({ text: "ab\ncd", cursor: 2 })).toBe("› ab[ ]\n  cd");
    expect(renderPrompt({ text: "", cursor: 0 })).toBe("› [ ]");
  });

  it("shows no cursor while an answer streams", () => {
    expect(renderPrompt({ text: "abc", cursor: 1 }, true)).toBe("› abc");
  });
});
