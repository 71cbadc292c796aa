import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthError } from '../../../src/auth/errors.js';
import {
  type RefreshedEvent,
  type RefreshFailedEvent,
  RefreshingToken,
} from '../../../src/auth/refreshing-token.js';
import type { AccessToken } from '../../../src/auth/token-source.js';

/** A token source whose answers the test scripts, counting every call. */
function scriptedSource(answer: (call: number) => Promise<AccessToken> | AccessToken) {
  const source = {
    calls: 0,
    getToken: async () => {
      source.calls += 1;
      return answer(source.calls);
    },
  };
  return source;
}

describe('RefreshingToken', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('serves 1,000 concurrent get() calls at expiry with exactly one fetch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const source = scriptedSource(async (n) => {
      await gate;
      return { token: `t${n}`, expiresAt: Date.now() + 60_000 };
    });
    const token = new RefreshingToken({ source });
    const all = Promise.all(Array.from({ length: 1_000 }, () => token.get()));
    release();
    const results = await all;
    expect(source.calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(['t1']));
    token.stop();
  });

  it('answers current() synchronously, and undefined once the token has expired', async () => {
    const source = scriptedSource(() => {
      throw new AuthError('auth.token_endpoint_unreachable', 'down');
    });
    const token = new RefreshingToken({
      source: async () =>
        source.calls++ === 0 ? { token: 'a', expiresAt: Date.now() + 10_000 } : source.getToken(),
    });
    expect(token.current()).toBeUndefined();
    await token.get();
    expect(token.current()).toBe('a');
    await vi.advanceTimersByTimeAsync(10_001);
    expect(token.current()).toBeUndefined();
    token.stop();
  });

  it('refreshes at the configured fraction of the lifetime', async () => {
    const source = scriptedSource((n) => ({ token: `t${n}`, expiresAt: Date.now() + 100_000 }));
    const token = new RefreshingToken({ source, random: () => 0.5, safetyMarginMs: 1_000 });
    await token.get();
    await vi.advanceTimersByTimeAsync(74_900);
    expect(source.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(source.calls).toBe(2);
    expect(token.current()).toBe('t2');
    token.stop();
  });

  it('never refreshes later than the safety margin before expiry', async () => {
    const source = scriptedSource((n) => ({ token: `t${n}`, expiresAt: Date.now() + 10_000 }));
    const token = new RefreshingToken({ source, refreshAt: 1, jitter: 0, safetyMarginMs: 4_000 });
    await token.get();
    await vi.advanceTimersByTimeAsync(5_999);
    expect(source.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(source.calls).toBe(2);
    token.stop();
  });

  it('backs off exponentially up to the cap while the endpoint fails', async () => {
    const source = scriptedSource(() => {
      throw new AuthError('auth.token_endpoint_failed', 'HTTP 503');
    });
    const token = new RefreshingToken({ source, random: () => 1, initialBackoffMs: 100, maxBackoffMs: 400 });
    const failures: RefreshFailedEvent[] = [];
    token.on('refreshFailed', (e) => failures.push(e));
    await expect(token.get()).rejects.toMatchObject({ code: 'auth.token_endpoint_failed' });
    for (let i = 0; i < 4; i += 1) await vi.advanceTimersByTimeAsync(failures.at(-1)?.retryInMs ?? 0);
    expect(failures.map((f) => f.retryInMs)).toEqual([100, 200, 400, 400, 400]);
    expect(source.calls).toBe(5);
    token.stop();
  });

  it('keeps serving the previous token while refreshes fail, and retries before it expires', async () => {
    const source = scriptedSource((n) => {
      if (n === 1) return { token: 'first', expiresAt: Date.now() + 10_000 };
      if (n < 4) throw new AuthError('auth.token_endpoint_unreachable', 'down');
      return { token: 'second', expiresAt: Date.now() + 10_000 };
    });
    const token = new RefreshingToken({
      source,
      jitter: 0,
      safetyMarginMs: 1_000,
      initialBackoffMs: 500,
      random: () => 1,
    });
    const events: Array<RefreshedEvent | RefreshFailedEvent> = [];
    token.on('refreshFailed', (e) => events.push(e));
    await token.get();
    await vi.advanceTimersByTimeAsync(7_600);
    expect(source.calls).toBe(2);
    expect(token.current()).toBe('first');
    expect(events.every((e) => 'servingPrevious' in e && e.servingPrevious)).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(token.current()).toBe('second');
    token.stop();
  });

  it('does not replace a valid token with a refresh result that expires earlier', async () => {
    const source = scriptedSource((n) =>
      n === 1
        ? { token: 'newer', expiresAt: Date.now() + 60_000 }
        : { token: 'older', expiresAt: Date.now() + 5_000 },
    );
    const token = new RefreshingToken({ source });
    await token.get();
    await expect(token.refresh()).resolves.toBe('newer');
    expect(token.current()).toBe('newer');
    token.stop();
  });

  it('emits refreshed without ever needing the token logged, and stop() rejects later calls', async () => {
    const source = scriptedSource(() => ({ token: 'x', expiresAt: Date.now() + 1_000 }));
    const token = new RefreshingToken({ source });
    const refreshed = vi.fn();
    token.on('refreshed', refreshed);
    await token.get();
    expect(refreshed).toHaveBeenCalledWith(expect.objectContaining({ expiresAt: Date.now() + 1_000 }));
    token.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(source.calls).toBe(1);
    await expect(token.refresh()).rejects.toMatchObject({ code: 'auth.stopped' });
  });

  it('wraps a failing custom source in an AuthError', async () => {
    const token = new RefreshingToken({ source: async () => Promise.reject(new Error('boom')) });
    await expect(token.get()).rejects.toMatchObject({ code: 'auth.token_source_failed' });
    token.stop();
  });

  it('rejects invalid options with a TypeError naming the option', () => {
    const source = scriptedSource(() => ({ token: 'x', expiresAt: 0 }));
    expect(() => new RefreshingToken({ source, refreshAt: 1.5 })).toThrow(/refreshAt/);
    expect(() => new RefreshingToken({ source, initialBackoffMs: 10, maxBackoffMs: 5 })).toThrow(
      /maxBackoffMs/,
    );
    expect(() => new RefreshingToken({ source: {} as never })).toThrow(TypeError);
  });
});
