/**
 * Waits for a condition that another process (a browser, a Redis server) makes true in its own time:
 * polls it every `everyMs` and fails, saying what did not happen, after `withinMs`. A bounded wait on a
 * condition, never a sleep standing in for one.
 */
export const eventually = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  { withinMs = 10_000, everyMs = 20 }: { readonly withinMs?: number; readonly everyMs?: number } = {},
): Promise<void> => {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};
