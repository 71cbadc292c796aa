// Waiting on the Node side: one sleep and one poll loop for the CLI, the dev stack, the issuer and the
// SDK's Node-side code. Workflow code must not import this (it uses Node timers, not Temporal's).

/**
 * Resolves after `ms`, or as soon as `signal` aborts. It never rejects: a caller that must stop on
 * abort checks `signal.aborted` (or calls `signal.throwIfAborted()`) after it, so one helper serves both
 * "wake me early" (a supervised worker shutting down) and "give up" (a cancelled tree walk).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface PollOptions {
  /** What is awaited, for the timeout message: "timed out after 30s waiting for <what>". */
  what: string;
  /** How long to keep checking. */
  timeoutMs: number;
  /** Pause between checks. Default 250 ms. */
  intervalMs?: number;
  /** Stops the wait early: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Builds the timeout error (a part's own error type, say); by default a plain Error naming `what`. */
  onTimeout?: () => Error | Promise<Error>;
}

/**
 * Calls `check` until it returns something other than `undefined`, `false` or `null`, and resolves to
 * that; rejects once `timeoutMs` has passed. `check` is always called at least once, and a check still
 * running at the deadline is waited for, so a slow but successful check is not thrown away.
 */
export async function pollUntil<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: PollOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline) {
      throw options.onTimeout
        ? await options.onTimeout()
        : new Error(`timed out after ${options.timeoutMs / 1000}s waiting for ${options.what}`);
    }
    await sleep(Math.min(options.intervalMs ?? 250, Math.max(0, deadline - Date.now())), options.signal);
  }
}
