// A worker whose clock is 2 minutes off the issuer's (and so off the Temporal server's, which runs on
// infrastructure time): with 10-second tokens it must never serve a token the server sees as expired,
// never be left without one, and refresh on its own schedule. Fake clock; issuer over undici MockAgent.
import { generateKeyPair, SignJWT } from 'jose';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientCredentialsTokenSource, KeySecretTokenSource } from '../../../src/auth/client-credentials.js';
import { RefreshingToken } from '../../../src/auth/refreshing-token.js';
import type { TokenSource } from '../../../src/auth/token-source.js';

const keys = generateKeyPair('ES256');
const LIFETIME_S = 10;
const origin = 'https://issuer.test';

/** An issuer whose clock runs `skewMs` ahead of the worker's, minting 10-second JWTs. */
function skewedIssuer(skewMs: number, options: { iat?: boolean } = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const minted: Array<{ exp: number }> = [];
  const mint = async () => {
    const iat = Math.floor((Date.now() + skewMs) / 1000);
    minted.push({ exp: iat + LIFETIME_S });
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setExpirationTime(iat + LIFETIME_S);
    if (options.iat ?? true) jwt.setIssuedAt(iat);
    return jwt.sign((await keys).privateKey);
  };
  const pool = agent.get(origin);
  pool
    .intercept({ path: '/oauth/token', method: 'POST' })
    .reply(200, async () => ({ access_token: await mint(), token_type: 'Bearer', expires_in: LIFETIME_S }))
    .persist();
  pool
    .intercept({ path: '/api/token', method: 'POST' })
    .reply(200, async () => ({ token: await mint() }))
    .persist();
  /** Seconds on the issuer's (and server's) clock. */
  const issuerNowS = () => (Date.now() + skewMs) / 1000;
  return { agent, minted, issuerNowS };
}

function sourceOf(kind: 'client credentials' | 'key form', agent: MockAgent): TokenSource {
  return kind === 'client credentials'
    ? new ClientCredentialsTokenSource({
        tokenUrl: `${origin}/oauth/token`,
        clientId: 'app',
        clientSecret: 'secret',
        dispatcher: agent,
      })
    : new KeySecretTokenSource({
        url: `${origin}/api/token`,
        keyId: 'trk_1',
        keySecret: 'secret',
        dispatcher: agent,
      });
}

/**
 * Lets a fetch in flight finish at this fake instant: signing runs on real (unfaked) async crypto, so
 * it needs real turns of the event loop, which setImmediate (not faked here) provides.
 */
async function settled(token: RefreshingToken): Promise<void> {
  const deadline = performance.now() + 2_000;
  while (token.state.refreshing && performance.now() < deadline) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function expOf(token: string): number {
  return (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number })
    .exp;
}

describe('a worker clock skewed ±2 minutes from the issuer, 10-second tokens', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const kind of ['client credentials', 'key form'] as const) {
    for (const [label, skewMs] of [
      ['ahead of', -120_000],
      ['behind', 120_000],
    ] as const) {
      it(`${kind}: worker 2 min ${label} the issuer — 10 minutes without serving an expired token or none`, async () => {
        const issuer = skewedIssuer(skewMs);
        const token = new RefreshingToken({ source: sourceOf(kind, issuer.agent) });
        await token.get();
        let served = 0;
        let expiredServed = 0;
        let gaps = 0;
        for (let second = 0; second < 600; second++) {
          await vi.advanceTimersByTimeAsync(1_000);
          await settled(token);
          const current = token.current();
          if (current === undefined) {
            gaps += 1;
            continue;
          }
          served += 1;
          // What the Temporal server (on the issuer's clock) would decide about this token now.
          if (expOf(current) <= issuer.issuerNowS()) expiredServed += 1;
        }
        token.stop();
        await issuer.agent.close();
        expect({ served, expiredServed, gaps }).toEqual({ served: 600, expiredServed: 0, gaps: 0 });
        // Refreshed on the local schedule — 75 % of 10 s, capped by the 5 s safety margin, so every 5 s —
        // not once per call and not late.
        expect(issuer.minted.length).toBeGreaterThanOrEqual(600 / 5.5);
        expect(issuer.minted.length).toBeLessThanOrEqual(600 / 5 + 2);
      });
    }
  }

  // Without `iat` the lifetime is `exp` against the local clock: a worker 2 minutes ahead sees every
  // 10-second token as expired on arrival. Such a token is refused (auth.invalid_token_response, naming
  // the clock) and retried with capped exponential backoff, not fetched in a tight loop.
  it('key form without iat, worker 2 min ahead: refuses the token and retries at a bounded rate', async () => {
    const issuer = skewedIssuer(-120_000, { iat: false });
    const token = new RefreshingToken({ source: sourceOf('key form', issuer.agent) });
    const codes: string[] = [];
    token.on('refreshFailed', ({ error }) => codes.push(error.code));
    await token.get().catch(() => undefined);
    for (let i = 0; i < 100; i++) {
      await vi.advanceTimersByTimeAsync(100);
      await settled(token);
    }
    token.stop();
    await issuer.agent.close();
    process.stderr.write(
      `[clock skew] exp-only JWTs, worker 2 min ahead: ${issuer.minted.length} fetches in 10 s\n`,
    );
    expect(token.current()).toBeUndefined();
    expect(new Set(codes)).toEqual(new Set(['auth.invalid_token_response']));
    // Backoff 250 ms doubling (with jitter): at most 8 attempts in 10 s, where a tight loop made 100+.
    expect(issuer.minted.length).toBeLessThanOrEqual(8);
  });
});
