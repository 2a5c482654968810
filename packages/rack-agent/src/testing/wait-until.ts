/**
 * Resolves with the first truthy value of `probe`, re-checking every `intervalMs`; rejects
 * after `timeoutMs`. For conditions with no event to await (agent-side state changed by a
 * message the test cannot observe). Prefer an event when one exists.
 */
export async function waitUntil<T>(
  probe: () => T | undefined | null | false,
  options: {
    readonly timeoutMs?: number;
    readonly intervalMs?: number;
    readonly what?: string;
  } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 5;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'condition'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
