// Measurement 2: many callers asking for a token at the moment the cached one expired (after an
// outage, or a process that slept through its refresh): they must share one fetch.
import type { DevConfig } from '../../src/devstack/dev-config.js';
import { countingToken } from './counting-token.js';
import { BenchError } from './errors.js';
import { msSince, percentile, round } from './stats.js';

export interface RefreshContentionResult {
  callers: number;
  /** Token-endpoint requests the expired cache made to serve every caller. */
  fetches: number;
  /** Callers that got a token (all of them, or something failed). */
  served: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function measureRefreshContention(
  config: DevConfig,
  callers: number,
): Promise<RefreshContentionResult> {
  // A movable clock instead of a short-lived token: the jump lands exactly past expiry, and the
  // refresh-ahead timer (set for three quarters of a 10-minute lifetime) cannot fire first.
  let skewMs = 0;
  const clock = () => Date.now() + skewMs;
  const { token, requests } = countingToken(config, clock);
  try {
    await token.get();
    const expiresAt = token.state.expiresAt ?? clock();
    skewMs += expiresAt - clock() + 1;
    if (token.current() !== undefined) {
      throw new BenchError('bench.unexpected_response', 'the cached token did not expire');
    }
    const before = requests();
    const waits = await Promise.all(
      Array.from({ length: callers }, async () => {
        const t = process.hrtime.bigint();
        await token.get();
        return msSince(t);
      }),
    );
    return {
      callers,
      fetches: requests() - before,
      served: waits.length,
      p50Ms: round(percentile(waits, 50), 2),
      p99Ms: round(percentile(waits, 99), 2),
      maxMs: round(Math.max(...waits), 2),
    };
  } finally {
    token.stop();
  }
}
