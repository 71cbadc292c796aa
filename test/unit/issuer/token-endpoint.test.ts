// The token endpoint's decisions without HTTP: who gets a token, who is refused and how, what the
// limits do, and what the audit log is told (never a secret or a token).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApplication, pauseAccessKey, revokeAccessKey } from '../../../src/issuer/application-admin.js';
import { ApplicationStore } from '../../../src/issuer/applications.js';
import type { AuditEvent } from '../../../src/issuer/audit-log.js';
import { OAuthError, type RateLimitedError } from '../../../src/issuer/errors.js';
import { IssuerMetrics } from '../../../src/issuer/issuer-metrics.js';
import { hashSecret } from '../../../src/issuer/secrets.js';
import { loadOrCreateSigningKeys, type SigningKey } from '../../../src/issuer/signing-keys.js';
import {
  TokenEndpoint,
  type TokenEndpointOptions,
  type TokenOutcome,
} from '../../../src/issuer/token-endpoint.js';
import type { TokenRequest } from '../../../src/issuer/token-requests.js';

let dir: string;
let keys: SigningKey[];
let applications: ApplicationStore;
const creds: Record<'worker' | 'paused' | 'revoked' | 'expiring', { keyId: string; secret: string }> =
  {} as never;
let audit: AuditEvent[];
let now: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'token-endpoint-'));
  const admin = {
    applicationsPath: join(dir, 'applications.json'),
    now: () => Date.parse('2026-06-01T00:00:00Z'),
  };
  keys = await loadOrCreateSigningKeys(join(dir, 'signing-keys.json'));
  for (const name of ['worker', 'paused', 'revoked'] as const) {
    const { key } = await createApplication(admin, {
      id: `${name}-app`,
      permissions: ['default:write', 'default:read'],
      tokenLifetimeSeconds: 120,
    });
    creds[name] = { keyId: key.keyId, secret: key.secret };
  }
  const { key } = await createApplication(admin, {
    id: 'expiring-app',
    permissions: ['default:read'],
    keyExpiresInSeconds: 60,
  });
  creds.expiring = { keyId: key.keyId, secret: key.secret };
  await pauseAccessKey(admin, creds.paused.keyId, { reason: 'suspected leak' });
  await revokeAccessKey(admin, creds.revoked.keyId);
  applications = new ApplicationStore(admin.applicationsPath);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  audit = [];
  now = Date.parse('2026-06-01T00:00:10Z');
});

function endpoint(options: Partial<TokenEndpointOptions> = {}): TokenEndpoint {
  return new TokenEndpoint({
    issuer: 'https://issuer.test',
    audience: 'temporal-test',
    applications,
    signingKeys: async () => ({ signer: keys.at(-1), published: keys }),
    audit: (event) => {
      audit.push(event);
    },
    now: () => now,
    ...options,
  });
}

const asking = (request: Partial<TokenRequest> & { keyId: string; secret: string }) => async () => ({
  scope: undefined,
  ...request,
});

async function call(
  e: TokenEndpoint,
  read: () => Promise<TokenRequest>,
  ip = '203.0.113.7',
): Promise<TokenOutcome> {
  const outcome = await e.handle({ endpoint: 'api', ip, read });
  // Audit writes are fire-and-forget: let them land before the test looks.
  await new Promise((resolve) => setImmediate(resolve));
  return outcome;
}

function refusal(outcome: TokenOutcome): { status: number; code: string } {
  if (outcome.ok) throw new Error('expected a refusal, got a token');
  const { error } = outcome;
  return { status: error.status, code: error instanceof OAuthError ? error.error : error.code };
}

function expectNoSecretIn(events: AuditEvent[], ...secrets: string[]): void {
  const text = JSON.stringify(events);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('TokenEndpoint', () => {
  it('mints a token for a correct key and audits it by ids only', async () => {
    const outcome = await call(endpoint(), asking(creds.worker));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const { payload } = await jwtVerify(
      outcome.token.token,
      createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) }),
      { issuer: 'https://issuer.test', audience: 'temporal-test', currentDate: new Date(now) },
    );
    expect(payload).toMatchObject({ sub: 'worker-app', permissions: ['default:write', 'default:read'] });
    expect(outcome.token.expiresInSeconds).toBe(120);
    expect(audit).toEqual([
      {
        event: 'token_issued',
        app: 'worker-app',
        keyId: creds.worker.keyId,
        kid: keys.at(-1)?.kid,
        jti: outcome.token.jti,
        expiresAt: new Date(Math.floor(now / 1000) * 1000 + 120_000).toISOString(),
        endpoint: 'api',
        ip: '203.0.113.7',
      },
    ]);
    expectNoSecretIn(audit, creds.worker.secret, outcome.token.token);
  });

  it('refuses a wrong secret with 401 invalid_client and audits bad_secret without the secret', async () => {
    const outcome = await call(endpoint(), asking({ keyId: creds.worker.keyId, secret: 'not-the-secret' }));
    expect(refusal(outcome)).toEqual({ status: 401, code: 'invalid_client' });
    expect(audit).toEqual([
      expect.objectContaining({ event: 'token_failed', reason: 'bad_secret', keyId: creds.worker.keyId }),
    ]);
    expectNoSecretIn(audit, 'not-the-secret');
  });

  it('keeps an unknown key id out of the audit log: a caller who swapped id and secret would have put the secret there', async () => {
    const outcome = await call(
      endpoint(),
      asking({ keyId: creds.worker.secret, secret: creds.worker.keyId }),
    );
    expect(refusal(outcome)).toEqual({ status: 401, code: 'invalid_client' });
    expect(audit).toEqual([
      { event: 'token_failed', reason: 'unknown_key', endpoint: 'api', ip: '203.0.113.7' },
    ]);
    expectNoSecretIn(audit, creds.worker.secret);
  });

  it.each([
    ['paused', 'key_paused'],
    ['revoked', 'key_revoked'],
  ] as const)(
    'refuses a %s key with its correct secret exactly like a wrong one, audited as %s',
    async (which, reason) => {
      const outcome = await call(endpoint(), asking(creds[which]));
      expect(refusal(outcome)).toEqual({ status: 401, code: 'invalid_client' });
      expect(outcome.ok || outcome.error.message).toBe('client authentication failed');
      expect(audit).toEqual([
        expect.objectContaining({ event: 'token_failed', reason, keyId: creds[which].keyId }),
      ]);
      expectNoSecretIn(audit, creds[which].secret);
    },
  );

  it('refuses a key once its expiry has passed, audited as key_expired', async () => {
    expect((await call(endpoint(), asking(creds.expiring))).ok).toBe(true);
    now = Date.parse('2026-06-01T00:01:00Z');
    expect(refusal(await call(endpoint(), asking(creds.expiring)))).toEqual({
      status: 401,
      code: 'invalid_client',
    });
    expect(audit.at(-1)).toMatchObject({ event: 'token_failed', reason: 'key_expired' });
  });

  it('counts a request without credentials as a failed authentication (no_credentials)', async () => {
    const outcome = await call(endpoint(), async () => {
      throw new OAuthError('invalid_client', 'client authentication required');
    });
    expect(refusal(outcome)).toEqual({ status: 401, code: 'invalid_client' });
    expect(audit).toEqual([expect.objectContaining({ event: 'token_failed', reason: 'no_credentials' })]);
  });

  it('passes a malformed request through as its own refusal, audited with its code', async () => {
    const outcome = await call(endpoint(), async () => {
      throw new OAuthError('invalid_request', 'keyId and keySecret must be non-empty strings');
    });
    expect(refusal(outcome)).toEqual({ status: 400, code: 'invalid_request' });
    expect(audit).toEqual([expect.objectContaining({ event: 'token_failed', reason: 'invalid_request' })]);
  });

  it('refuses a scope beyond the application permissions with invalid_scope', async () => {
    const outcome = await call(endpoint(), asking({ ...creds.worker, scope: 'default:read default:admin' }));
    expect(refusal(outcome)).toEqual({ status: 400, code: 'invalid_scope' });
  });

  it('answers 503 while no signing key may sign, and throws what it cannot explain', async () => {
    const noSigner = endpoint({ signingKeys: async () => ({ signer: undefined, published: keys }) });
    expect(refusal(await call(noSigner, asking(creds.worker)))).toEqual({
      status: 503,
      code: 'issuer.temporarily_unavailable',
    });
    const broken = endpoint({
      signingKeys: async () => {
        throw new Error('disk on fire');
      },
    });
    await expect(broken.handle({ endpoint: 'api', ip: '::1', read: asking(creds.worker) })).rejects.toThrow(
      'disk on fire',
    );
  });

  describe('with a limit of 3 failures per key id and 6 per address in 60 s', () => {
    const limited = () => endpoint({ rateLimit: { maxFailures: 3, maxFailuresPerIp: 6, windowSeconds: 60 } });
    const wrong = () => asking({ keyId: creds.worker.keyId, secret: 'wrong' })();

    it('answers the failure past the per-key limit 429 with Retry-After, audited as rate_limited once', async () => {
      const e = limited();
      for (let i = 0; i < 3; i++) expect(refusal(await call(e, wrong, `198.51.100.${i}`)).status).toBe(401);
      const outcome = await call(e, wrong, '198.51.100.9');
      expect(refusal(outcome)).toEqual({ status: 429, code: 'issuer.rate_limited' });
      expect(!outcome.ok && (outcome.error as RateLimitedError).retryAfterSeconds).toBeGreaterThan(0);
      const limitedEvents = audit.filter((a) => a.event === 'rate_limited');
      expect(limitedEvents).toEqual([
        expect.objectContaining({ scope: 'key', reason: 'bad_secret', keyId: creds.worker.keyId }),
      ]);
      // A 429 is audited as rate_limited only, not also as token_failed.
      expect(audit.filter((a) => a.event === 'token_failed')).toHaveLength(3);
    });

    it('still gives the correct secret a token while its key id and address are blocked', async () => {
      const e = limited();
      for (let i = 0; i < 7; i++) await call(e, wrong);
      expect(refusal(await call(e, wrong)).status).toBe(429);
      expect((await call(e, asking(creds.worker))).ok).toBe(true);
    });

    it('limits an address that tries many unknown key ids, without keeping those ids', async () => {
      const e = limited();
      for (let i = 0; i < 6; i++) {
        expect(refusal(await call(e, asking({ keyId: `trk_guess_${i}`, secret: 'x' }))).status).toBe(401);
      }
      expect(refusal(await call(e, asking({ keyId: 'trk_guess_6', secret: 'x' }))).status).toBe(429);
      expect(audit.filter((a) => a.event === 'rate_limited')).toEqual([
        { event: 'rate_limited', scope: 'ip', reason: 'unknown_key', endpoint: 'api', ip: '203.0.113.7' },
      ]);
    });

    it('forgets failures once the window has passed', async () => {
      const e = limited();
      for (let i = 0; i < 3; i++) await call(e, wrong, '192.0.2.1');
      expect(refusal(await call(e, wrong, '192.0.2.1')).status).toBe(429);
      now += 61_000;
      expect(refusal(await call(e, wrong, '192.0.2.1')).status).toBe(401);
    });

    it('counts nothing with rateLimit false', async () => {
      const e = endpoint({ rateLimit: false });
      for (let i = 0; i < 20; i++) expect(refusal(await call(e, wrong)).status).toBe(401);
    });
  });

  it('accepts the bootstrap credential, and counts issued and refused tokens in its metrics', async () => {
    const metrics = new IssuerMetrics();
    const secret = `${'b'.repeat(8)}Zq9!xT3@pL7#mK2$wR5%`;
    const e = endpoint({
      metrics,
      bootstrap: {
        clientId: 'trk_bootstrap',
        secretHash: hashSecret(secret),
        expiresAt: undefined,
        permissions: ['temporal-system:admin'],
      },
    });
    const outcome = await call(e, asking({ keyId: 'trk_bootstrap', secret }));
    expect(outcome.ok && outcome.token.permissions).toEqual(['temporal-system:admin']);
    await call(e, asking({ keyId: 'trk_bootstrap', secret: 'wrong' }));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tokenrelay_issuer_tokens_issued_total\{endpoint="api"\} 1/);
    expect(text).toMatch(/tokenrelay_issuer_token_failures_total\{reason="invalid_client"\} 1/);
    expectNoSecretIn(audit, secret);
  });
});
