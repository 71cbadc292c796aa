// Timing and concurrency primitives shared by every measurement.

/** Milliseconds since `start` (a `process.hrtime.bigint()` reading), with sub-millisecond precision. */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The `p`-th percentile (0..100) of `values` by nearest rank; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Runs `fn` over `items` with at most `concurrency` in flight; rejects with the first failure. */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

/**
 * Keeps `concurrency` loops calling `op` until `durationMs` has passed; returns how many completed and
 * each one's latency. A loop never starts an operation after the deadline, so the tail is bounded.
 */
export async function runFor(
  durationMs: number,
  concurrency: number,
  op: () => Promise<void>,
): Promise<{ completed: number; elapsedMs: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  const started = process.hrtime.bigint();
  const lane = async () => {
    while (msSince(started) < durationMs) {
      const t = process.hrtime.bigint();
      await op();
      latenciesMs.push(msSince(t));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { completed: latenciesMs.length, elapsedMs: msSince(started), latenciesMs };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rounds to `digits` decimals, so the JSON stays readable. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
