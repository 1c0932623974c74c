// Polls an assertion until it passes (or times out), instead of sleeping a fixed time.
import { vi } from "vitest";

export async function waitFor(assertion: () => void, timeoutMs = 2000): Promise<void> {
  await vi.waitFor(assertion, { timeout: timeoutMs, interval: 5 });
}
