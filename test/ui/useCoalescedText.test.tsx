// useCoalescedText hands on the text at most once per interval, and reset drops a pending flush.
import { render } from "ink-testing-library";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useCoalescedText, type CoalescedText } from "../../src/ui/useCoalescedText.ts";

function Probe({ onFlush, expose }: { onFlush: (text: string) => void; expose: (c: CoalescedText) => void }) {
  expose(useCoalescedText(onFlush, 30));
  return null;
}

function setup() {
  const onFlush = vi.fn<(text: string) => void>();
  let coalesced: CoalescedText | undefined;
  const app = render(<Probe onFlush={onFlush} expose={(c) => (coalesced = c)} />);
  if (!coalesced) throw new Error("Probe did not render");
  return { onFlush, coalesced, app };
}

describe("useCoalescedText", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());

  it("flushes a burst once, with all of the text, after the interval", () => {
    const { onFlush, coalesced } = setup();
    for (let i = 0; i < 100; i++) coalesced.append("x");
    vi.advanceTimersByTime(29);
    expect(onFlush).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onFlush).toHaveBeenCalledTimes(1);
    expect(onFlush).toHaveBeenLastCalledWith("x".repeat(100));
    coalesced.append("y");
    vi.advanceTimersByTime(30);
    expect(onFlush).toHaveBeenCalledTimes(2);
    expect(onFlush).toHaveBeenLastCalledWith("x".repeat(100) + "y");
  });

  it("reset drops the text and the pending flush; unmount cancels it too", () => {
    const { onFlush, coalesced, app } = setup();
    coalesced.append("old");
    coalesced.reset();
    vi.advanceTimersByTime(100);
    expect(onFlush).not.toHaveBeenCalled();
    coalesced.append("new");
    vi.advanceTimersByTime(30);
    expect(onFlush).toHaveBeenLastCalledWith("new");
    coalesced.append("more");
    app.unmount();
    vi.advanceTimersByTime(100);
    expect(onFlush).toHaveBeenCalledTimes(1);
  });
});
