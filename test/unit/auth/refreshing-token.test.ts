import { generateKeyPair, SignJWT } from 'jose';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeySecretTokenSource } from '../../../src/auth/client-credentials.js';
import { AuthError } from '../../../src/auth/errors.js';
import {
  type RefreshedEvent,
  type RefreshFailedEvent,
  RefreshingToken,
} from '../../../src/auth/refreshing-token.js';
import type { AccessToken } from '../../../src/auth/token-source.js';

const keys = generateKeyPair('ES256');

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

describe('RefreshingToken.refreshRejected', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out the cached token when it already differs from the rejected one, without fetching', async () => {
    const source = scriptedSource((n) => ({ token: `t${n}`, expiresAt: Date.now() + 60_000 }));
    const token = new RefreshingToken({ source });
    await token.get();
    expect(await token.refreshRejected('some-older-token')).toBe('t1');
    expect(source.calls).toBe(1);
    token.stop();
  });

  it('fetches a new token when the rejected one is the cached one and old enough', async () => {
    const source = scriptedSource((n) => ({ token: `t${n}`, expiresAt: Date.now() + 60_000 }));
    const token = new RefreshingToken({ source, minRejectedRefreshIntervalMs: 2_000 });
    await token.get();
    await vi.advanceTimersByTimeAsync(2_500);
    expect(await token.refreshRejected('t1')).toBe('t2');
    expect(source.calls).toBe(2);
    token.stop();
  });

  it('does not refetch for a token refused moments after it was fetched: its permissions, not its age, were the problem', async () => {
    const source = scriptedSource((n) => ({ token: `t${n}`, expiresAt: Date.now() + 60_000 }));
    const token = new RefreshingToken({ source, minRejectedRefreshIntervalMs: 2_000 });
    await token.get();
    const answers = await Promise.all(Array.from({ length: 50 }, () => token.refreshRejected('t1')));
    expect(new Set(answers)).toEqual(new Set([undefined]));
    expect(source.calls).toBe(1);
    token.stop();
  });

  it('answers undefined when the source hands back the same token or fails', async () => {
    let fail = false;
    const source = scriptedSource(() => {
      if (fail) throw new Error('down');
      return { token: 'same', expiresAt: Date.now() + 60_000 };
    });
    const token = new RefreshingToken({ source, minRejectedRefreshIntervalMs: 0 });
    token.on('refreshFailed', () => {});
    await token.get();
    expect(await token.refreshRejected('same')).toBeUndefined();
    fail = true;
    expect(await token.refreshRejected('same')).toBeUndefined();
    token.stop();
  });
});

describe('RefreshingToken with an issuer clock skewed ±5 minutes', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ['ahead', 5 * 60_000],
    ['behind', -5 * 60_000],
  ])('refreshes on the same local schedule when the issuer clock is 5 minutes %s', async (_label, skewMs) => {
    // The JSON key form over HTTP: expiry comes from the JWT, stamped with the issuer's clock.
    const agent = new MockAgent();
    agent.disableNetConnect();
    const issued: number[] = [];
    agent
      .get('https://issuer.test')
      .intercept({ path: '/api/token', method: 'POST' })
      .reply(200, async () => {
        issued.push(Date.now());
        const iat = Math.floor((Date.now() + skewMs) / 1000);
        const jwt = await new SignJWT({})
          .setProtectedHeader({ alg: 'ES256' })
          .setIssuedAt(iat)
          .setExpirationTime(iat + 60)
          .sign((await keys).privateKey);
        return { token: jwt };
      })
      .persist();
    const source = new KeySecretTokenSource({
      url: 'https://issuer.test/api/token',
      keyId: 'trk_1',
      keySecret: 'secret',
      dispatcher: agent,
    });
    const token = new RefreshingToken({ source, jitter: 0 });
    await token.get();
    expect(token.current()).toBeDefined();
    await vi.advanceTimersByTimeAsync(44_000);
    expect(issued).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    // 75 % of 60 s after the first fetch, whatever the issuer's clock says.
    expect(issued).toHaveLength(2);
    expect((issued[1] as number) - (issued[0] as number)).toBe(45_000);
    expect(token.current()).toBeDefined();
    token.stop();
    await agent.close();
  });
});

describe('RefreshingToken with tokens shorter than the safety margin', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refreshes them by the fraction of their lifetime instead of refetching at once, again and again', async () => {
    const source = scriptedSource(() => ({ token: 't', expiresAt: Date.now() + 3_000 }));
    const token = new RefreshingToken({ source, jitter: 0 }); // safety margin 5 s > lifetime 3 s
    await token.get();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(source.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(source.calls).toBe(2); // at 75 % of 3 s
    token.stop();
  });
});
