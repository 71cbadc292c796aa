// Waiting in tests: for an event or a condition, with deadlines generous enough for a loaded two-core
// machine, and a timeout message that names what was awaited and what was last seen.
import { pollUntil } from '../../src/util/poll.js';

export { sleep } from '../../src/util/poll.js';

export interface WaitOptions {
  /** Default 60 s: long enough never to fail a healthy run, short enough to fail a broken one. */
  timeoutMs?: number;
  /** Default 250 ms. */
  intervalMs?: number;
}

/**
 * Reads with `read` until `ok` accepts the value, and returns it. A read that throws counts as "not
 * yet" (a workflow not started yet, a server still restarting); the timeout error names `what` and
 * shows the last value or error.
 */
export async function eventually<T>(
  read: () => Promise<T> | T,
  ok: (value: T) => boolean,
  what: string,
  options: WaitOptions = {},
): Promise<T> {
  let last: { value: T } | { error: unknown } | undefined;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const found = await pollUntil(
    async () => {
      try {
        const value = await read();
        last = { value };
        return ok(value) ? { value } : undefined;
      } catch (error) {
        last = { error };
        return undefined;
      }
    },
    {
      what,
      timeoutMs,
      intervalMs: options.intervalMs ?? 250,
      onTimeout: () =>
        new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last seen: ${shown(last)}`),
    },
  );
  return found.value;
}

/** Waits until `check` is true (errors count as "not yet"). */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  options: WaitOptions = {},
): Promise<void> {
  await eventually(check, (ok) => ok, what, options);
}

function shown(last: { value: unknown } | { error: unknown } | undefined): string {
  if (last === undefined) return 'nothing';
  if ('error' in last) return `error ${(last.error as Error)?.message ?? String(last.error)}`;
  try {
    return JSON.stringify(last.value)?.slice(0, 500) ?? String(last.value);
  } catch {
    return String(last.value);
  }
}
