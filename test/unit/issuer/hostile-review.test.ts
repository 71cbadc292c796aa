// The findings of the hostile-input review of the issuer (issue 14), one describe block per finding,
// each named after the bug it pins. Every test here failed on the code the review ran against.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApplication } from '../../../src/issuer/application-admin.js';
import { type Application, ApplicationStore } from '../../../src/issuer/applications.js';
import { AuditLog } from '../../../src/issuer/audit-log.js';
import { bootstrapCredentialFromEnv } from '../../../src/issuer/bootstrap-credential.js';
import { IssuerMetrics } from '../../../src/issuer/issuer-metrics.js';
import { SlidingWindowLimiter } from '../../../src/issuer/rate-limiter.js';
import { type RunningIssuer, startIssuer } from '../../../src/issuer/run.js';
import { createIssuerServer, type IssuerLogEvent, type IssuerOptions } from '../../../src/issuer/server.js';
import { rotateSigningKey } from '../../../src/issuer/signing-key-admin.js';
import { SigningKeyRing } from '../../../src/issuer/signing-key-ring.js';
import {
  createStoredSigningKey,
  readOrCreateSigningKeysFile,
  toSigningKey,
  writeSigningKeysFile,
} from '../../../src/issuer/signing-keys.js';

let dir: string;
let server: Server | undefined;
let running: RunningIssuer | undefined;
let base: string;
let clock: number;
let applicationsPath: string;
let signingKeysPath: string;
let auditLog: AuditLog;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'issuer-review-'));
  applicationsPath = join(dir, 'applications.json');
  signingKeysPath = join(dir, 'signing-keys.json');
  auditLog = new AuditLog(join(dir, 'audit.log'));
  clock = Date.now();
});

afterEach(async () => {
  if (server) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
  await running?.close();
  running = undefined;
  await auditEvents(); // lets audit writes still in flight land before the folder goes
  await rm(dir, { recursive: true, force: true });
});

const admin = () => ({
  applicationsPath,
  audit: (e: Parameters<AuditLog['record']>[0]) => auditLog.record(e),
});

async function start(extra: Partial<IssuerOptions> = {}): Promise<void> {
  await readOrCreateSigningKeysFile(signingKeysPath);
  clock = Date.now();
  const created = createIssuerServer({
    issuer: 'http://issuer.test',
    audience: 'temporal-test',
    applications: new ApplicationStore(applicationsPath),
    signingKeys: new SigningKeyRing(signingKeysPath, {
      maxTokenLifetimeSeconds: async () => 600,
      now: () => clock,
    }),
    audit: (e) => auditLog.record(e),
    now: () => clock,
    ...extra,
  });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

const basic = (id: string, secret: string, scheme = 'Basic') =>
  `${scheme} ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

function oauth(
  id: string,
  secret: string,
  options: { forwardedFor?: string; body?: string; scheme?: string } = {},
) {
  return fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(id, secret, options.scheme),
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
    },
    body: options.body ?? 'grant_type=client_credentials',
  });
}

async function auditEvents(): Promise<Array<Record<string, unknown>>> {
  await auditLog.flush();
  await new Promise((r) => setTimeout(r, 20)); // the server audits without awaiting
  await auditLog.flush();
  const text = await readFile(join(dir, 'audit.log'), 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('F1 lockout by anyone who knows a key id', () => {
  it('a correct secret gets its token after 10 bad attempts on its key id from any address', async () => {
    const { key } = await createApplication(admin(), { id: 'worker', permissions: ['default:read'] });
    await start({ trustedProxies: ['127.0.0.1'] });
    // A stranger guesses from several addresses; key ids are not secret.
    for (let i = 0; i < 10; i++) {
      expect((await oauth(key.keyId, 'guess', { forwardedFor: `203.0.113.${i}` })).status).toBe(401);
    }
    const guess = await oauth(key.keyId, 'guess', { forwardedFor: '203.0.113.99' });
    expect(guess.status).toBe(429);
    expect(Number(guess.headers.get('retry-after'))).toBeGreaterThan(0);
    // The real client, from its own address and from the guesser's: never refused.
    expect((await oauth(key.keyId, key.secret, { forwardedFor: '198.51.100.7' })).status).toBe(200);
    expect((await oauth(key.keyId, key.secret, { forwardedFor: '203.0.113.1' })).status).toBe(200);
    // And the guesser is still blocked afterwards.
    expect((await oauth(key.keyId, 'guess', { forwardedFor: '203.0.113.99' })).status).toBe(429);
  });
});

describe('F2 lockout of a whole proxy', () => {
  it('valid logins from an address with 50 failures still get tokens', async () => {
    const { key } = await createApplication(admin(), { id: 'worker', permissions: ['default:read'] });
    await start();
    for (let i = 0; i < 50; i++) expect((await oauth(`trk_unknown${i}`, 'x')).status).toBe(401);
    expect((await oauth('trk_unknown-next', 'x')).status).toBe(429);
    expect((await oauth(key.keyId, key.secret)).status).toBe(200);
  });

  it('with trustedProxies, failures count against the forwarded client, not the proxy', async () => {
    const { key } = await createApplication(admin(), { id: 'worker', permissions: ['default:read'] });
    await start({ trustedProxies: ['127.0.0.0/8'] });
    // One bad client behind the proxy: blocked itself.
    for (let i = 0; i < 50; i++) await oauth(`trk_bad${i}`, 'x', { forwardedFor: '192.0.2.66' });
    expect((await oauth('trk_bad-next', 'x', { forwardedFor: '192.0.2.66' })).status).toBe(429);
    // Another client behind the same proxy with one typo: an ordinary 401, then its token.
    expect((await oauth(key.keyId, 'typo', { forwardedFor: '192.0.2.10' })).status).toBe(401);
    expect((await oauth(key.keyId, key.secret, { forwardedFor: '192.0.2.10' })).status).toBe(200);
    // A client cannot pick its own address by prepending one: the proxy's entry (rightmost) counts.
    expect((await oauth('trk_bad-again', 'x', { forwardedFor: '10.9.9.9, 192.0.2.66' })).status).toBe(429);
    const events = await auditEvents();
    expect(events.filter((e) => e.event === 'rate_limited').every((e) => e.ip === '192.0.2.66')).toBe(true);
  });

  it('X-Forwarded-For from an untrusted peer is ignored', async () => {
    await createApplication(admin(), { id: 'worker', permissions: ['default:read'] });
    await start({ trustedProxies: ['10.0.0.0/8'] });
    await oauth('trk_x', 'x', { forwardedFor: '192.0.2.5' });
    const events = await auditEvents();
    const failed = events.find((e) => e.event === 'token_failed');
    expect(failed?.ip, JSON.stringify(events)).toBe('127.0.0.1');
  });
});

describe('F3 rate-limit state can be flushed', () => {
  it('10 050 failures with distinct subjects do not unblock a blocked guesser', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter({ maxFailures: 10, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 10; i++) limiter.recordFailure('guessed-key');
    expect(limiter.blockedForMs('guessed-key')).toBeGreaterThan(0);
    for (let i = 0; i < 10_050; i++) {
      now += 1;
      limiter.recordFailure(`flood-${i}`);
    }
    expect(limiter.blockedForMs('guessed-key')).toBeGreaterThan(0);
  });

  it('a flood of blocked subjects larger than the table fails closed instead of forgetting', () => {
    const limiter = new SlidingWindowLimiter({
      maxFailures: 2,
      windowMs: 60_000,
      maxSubjects: 100,
      maxBlockedSubjects: 100,
      now: () => 0,
    });
    limiter.recordFailure('guesser');
    limiter.recordFailure('guesser');
    for (let i = 0; i < 1_000; i++) {
      limiter.recordFailure(`flood-${i}`);
      limiter.recordFailure(`flood-${i}`);
    }
    expect(limiter.blockedForMs('guesser')).toBeGreaterThan(0);
    // Whoever it could not remember counts as blocked, until the window passed.
    expect(limiter.blockedForMs('flood-999')).toBeGreaterThan(0);
    expect(limiter.size().blocked).toBeLessThanOrEqual(100);
    expect(limiter.size().counting).toBeLessThanOrEqual(100);
  });

  it('unknown key ids take no room in the per-key table', async () => {
    const { key } = await createApplication(admin(), { id: 'worker', permissions: ['default:read'] });
    await start({ rateLimit: { maxFailures: 3, maxFailuresPerIp: 1_000_000, windowSeconds: 60 } });
    for (let i = 0; i < 3; i++) await oauth(key.keyId, 'guess');
    for (let i = 0; i < 200; i++) await oauth(`trk_flood${i}`, 'x');
    expect((await oauth(key.keyId, 'guess')).status).toBe(429);
  });
});

describe('F4 no HTTPS', () => {
  it('refuses plain HTTP off loopback unless explicitly allowed', async () => {
    const { resolveIssuerConfig } = await import('../../../src/issuer/config.js');
    expect(() => resolveIssuerConfig({ audience: 'a', host: '0.0.0.0' }, '/s/issuer.json', {})).toThrow(
      /plain HTTP on 0\.0\.0\.0.*tls/,
    );
    expect(
      resolveIssuerConfig({ audience: 'a', host: '0.0.0.0', allowInsecureHttp: true }, '/s/issuer.json', {})
        .allowInsecureHttp,
    ).toBe(true);
    const withTls = resolveIssuerConfig(
      { audience: 'a', host: '0.0.0.0', port: 8443, tls: { certPath: 'c.pem', keyPath: 'k.pem' } },
      '/s/issuer.json',
      {},
    );
    expect(withTls.tls).toMatchObject({ certPath: '/s/c.pem', keyPath: '/s/k.pem' });
    expect(withTls.issuer).toBe('https://0.0.0.0:8443');
  });
  // Serving HTTPS and reloading the certificate: tls.test.ts.
});

describe('F5 no lifetime cap', () => {
  it('refuses a ten-year token lifetime at create', async () => {
    await expect(
      createApplication(admin(), {
        id: 'forever',
        permissions: ['default:read'],
        tokenLifetimeSeconds: 315_360_000,
      }),
    ).rejects.toMatchObject({
      code: 'issuer.invalid_argument',
      message: /maxTokenLifetimeSeconds \(86400\)/,
    });
  });

  it('mints at most 24 h for an application edited by hand to ten years', async () => {
    const { key } = await createApplication(admin(), { id: 'edited', permissions: ['default:read'] });
    const file = JSON.parse(await readFile(applicationsPath, 'utf8')) as { applications: Application[] };
    (file.applications[0] as Application).tokenLifetimeSeconds = 315_360_000;
    await writeFile(applicationsPath, JSON.stringify(file));
    await start();
    const res = await oauth(key.keyId, key.secret);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    expect(body.expires_in).toBe(86_400);
    const claims = decodeJwt(body.access_token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(86_400);
  });

  it('keeps a retired signing key published for at most the cap, not until 2036', async () => {
    await createApplication(admin(), { id: 'a', permissions: ['default:read'] });
    const file = JSON.parse(await readFile(applicationsPath, 'utf8')) as { applications: Application[] };
    (file.applications[0] as Application).tokenLifetimeSeconds = 315_360_000;
    await writeFile(applicationsPath, JSON.stringify(file));
    await readOrCreateSigningKeysFile(signingKeysPath);
    const { keys } = await rotateSigningKey({
      applicationsPath,
      signingKeysPath,
      defaultTokenLifetimeSeconds: 600,
      signingKeyPublishAheadSeconds: 60,
      signingAlgorithm: 'ES256',
    });
    const old = keys[0];
    const keptMs = Date.parse(old?.publishedUntil ?? '') - Date.parse(old?.signsUntil ?? '');
    expect(keptMs).toBe(86_400_000);
  });
});

describe('F6 bootstrap credential', () => {
  it.each([
    ['sixteen of one letter', 'aaaaaaaaaaaaaaaa'],
    ['forty of one letter', 'a'.repeat(40)],
    ['a short pattern repeated', 'abab'.repeat(10)],
  ])('refuses %s as the secret', (_case, secret) => {
    expect(() =>
      bootstrapCredentialFromEnv({
        TOKENRELAY_BOOTSTRAP_CLIENT_ID: 'bootstrap',
        TOKENRELAY_BOOTSTRAP_CLIENT_SECRET: secret,
      }),
    ).toThrow(/TOKENRELAY_BOOTSTRAP_CLIENT_SECRET must be at least 32 characters of random text/);
  });

  it('accepts `openssl rand -base64 32` output', () => {
    expect(
      bootstrapCredentialFromEnv({
        TOKENRELAY_BOOTSTRAP_CLIENT_ID: 'bootstrap',
        TOKENRELAY_BOOTSTRAP_CLIENT_SECRET: 'q8Xv0pZ3kR7mW1sN4bT6yH9cJ2fL5dA8gE0uI3oP6rQ=',
      }),
    ).toMatchObject({ clientId: 'bootstrap', expiresAt: undefined });
  });

  it('takes the same path as an application key: the store lookup and a hash comparison', async () => {
    const checks: string[] = [];
    class CountingStore extends ApplicationStore {
      override check(keyId: string, secret: string, nowMs?: number) {
        checks.push(keyId);
        return super.check(keyId, secret, nowMs);
      }
    }
    await writeFile(applicationsPath, JSON.stringify({ applications: [] }));
    const secret = 'q8Xv0pZ3kR7mW1sN4bT6yH9cJ2fL5dA8gE0uI3oP6rQ=';
    const bootstrap = bootstrapCredentialFromEnv({
      TOKENRELAY_BOOTSTRAP_CLIENT_ID: 'bootstrap',
      TOKENRELAY_BOOTSTRAP_CLIENT_SECRET: secret,
    });
    await start({ applications: new CountingStore(applicationsPath), ...(bootstrap ? { bootstrap } : {}) });
    expect((await oauth('bootstrap', secret)).status).toBe(200);
    expect((await oauth('bootstrap', 'wrong')).status).toBe(401);
    expect(checks).toEqual(['bootstrap', 'bootstrap']);
    // Its secret is held only as a salted hash.
    expect(JSON.stringify(bootstrap)).not.toContain(secret);
  });

  it('warns at start when the bootstrap credential has no expiry', async () => {
    await writeFile(applicationsPath, JSON.stringify({ applications: [] }));
    await writeFile(
      join(dir, 'issuer.json'),
      JSON.stringify({ audience: 'a', port: 0, auditLogPath: 'audit.log' }),
    );
    const events: IssuerLogEvent[] = [];
    running = await startIssuer(join(dir, 'issuer.json'), (e) => events.push(e), {
      TOKENRELAY_BOOTSTRAP_CLIENT_ID: 'bootstrap',
      TOKENRELAY_BOOTSTRAP_CLIENT_SECRET: 'q8Xv0pZ3kR7mW1sN4bT6yH9cJ2fL5dA8gE0uI3oP6rQ=',
    });
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'warning', warning: 'bootstrap_without_expiry' }),
    );
  });
});

describe('F7 JWKS by deletion', () => {
  it('publishes only the public members of each key type, whatever else the stored key holds', async () => {
    for (const alg of ['ES256', 'RS256'] as const) {
      const stored = await createStoredSigningKey(alg);
      const polluted = {
        ...stored,
        privateJwk: { ...stored.privateJwk, k: 'c2VjcmV0', oth: [{ r: 'x', d: 'y', t: 'z' }], note: 'hi' },
      };
      const { publicJwk } = await toSigningKey(polluted as typeof stored);
      const expected =
        alg === 'ES256'
          ? ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']
          : ['alg', 'e', 'kid', 'kty', 'n', 'use'];
      expect(Object.keys(publicJwk).sort()).toEqual(expected);
    }
  });

  it('serves no secret member in /.well-known/jwks.json', async () => {
    const stored = await createStoredSigningKey('ES256');
    await writeSigningKeysFile(signingKeysPath, {
      keys: [{ ...stored, privateJwk: { ...stored.privateJwk, k: 'c2VjcmV0' } }],
    });
    await start();
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: object[] };
    expect(JSON.stringify(jwks)).not.toMatch(/"(k|d|oth)"/);
  });
});

describe('F8 a corrupt signing-keys.json', () => {
  it('is logged and counted by the running issuer, which keeps its keys and advises restoring', async () => {
    await writeFile(
      join(dir, 'issuer.json'),
      JSON.stringify({ audience: 'a', port: 0, auditLogPath: 'audit.log' }),
    );
    const { key } = await createApplication(admin(), { id: 'a', permissions: ['default:read'] });
    const events: IssuerLogEvent[] = [];
    running = await startIssuer(join(dir, 'issuer.json'), (e) => events.push(e), {});
    base = running.url;
    const before = await (await fetch(`${base}/.well-known/jwks.json`)).json();
    await writeFile(signingKeysPath, '{"keys": [ torn');
    expect((await oauth(key.keyId, key.secret)).status).toBe(200);
    expect((await oauth(key.keyId, key.secret)).status).toBe(200);
    expect(await (await fetch(`${base}/.well-known/jwks.json`)).json()).toEqual(before);
    const problems = events.filter((e) => e.event === 'state_file_unreadable');
    expect(problems).toHaveLength(1); // once per bad version, not per request
    expect(problems[0]?.error).toMatch(/restore it from your backup/);
    expect(problems[0]?.error).not.toMatch(/delete it to start over/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/tokenrelay_issuer_state_file_errors_total\{file="signing-keys"\} 1/);
    expect(metrics).toMatch(/tokenrelay_issuer_state_file_stale\{file="signing-keys"\} 1/);
  });

  it('advises restoring, not deleting, in the start-up error', async () => {
    const { parseSigningKeysFile } = await import('../../../src/issuer/signing-keys.js');
    expect(() => parseSigningKeysFile('{', '/s/signing-keys.json')).toThrow(/restore it from your backup/);
    expect(() => parseSigningKeysFile('{"keys": []}', '/s/signing-keys.json')).toThrow(
      /restore it from your backup/,
    );
  });
});

describe('F10 protocol nits', () => {
  it('deduplicates repeated scope entries', async () => {
    const { key } = await createApplication(admin(), {
      id: 'a',
      permissions: ['default:read', 'default:write'],
    });
    await start();
    const res = await oauth(key.keyId, key.secret, {
      body: 'grant_type=client_credentials&scope=default%3Aread%20default%3Aread%20default%3Aread',
    });
    const body = (await res.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('default:read');
    expect(decodeJwt(body.access_token).permissions).toEqual(['default:read']);
  });

  it.each(['basic', 'BASIC', 'bAsIc'])(
    'accepts the %s scheme (RFC 7235: case-insensitive)',
    async (scheme) => {
      const { key } = await createApplication(admin(), { id: `a-${scheme}`, permissions: ['default:read'] });
      await start();
      expect((await oauth(key.keyId, key.secret, { scheme })).status).toBe(200);
    },
  );

  it('refuses Basic credentials with a different body client_id instead of issuing for the Basic id', async () => {
    const a = await createApplication(admin(), { id: 'a', permissions: ['default:read'] });
    const b = await createApplication(admin(), { id: 'b', permissions: ['default:write'] });
    await start();
    const res = await oauth(a.key.keyId, a.key.secret, {
      body: `grant_type=client_credentials&client_id=${b.key.keyId}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    // The same id in both places is allowed (RFC 6749 §2.3.1 lets a client send it).
    const same = await oauth(a.key.keyId, a.key.secret, {
      body: `grant_type=client_credentials&client_id=${a.key.keyId}`,
    });
    expect(same.status).toBe(200);
  });
  // Codec key ids and codec key material: test/unit/codec/codec-keys.test.ts.
});

describe('the metrics and audit of the limit', () => {
  it('counts a 429 per limit hit and audits it with the failure reason', async () => {
    const { key } = await createApplication(admin(), { id: 'a', permissions: ['default:read'] });
    const metrics = new IssuerMetrics();
    await start({ metrics, rateLimit: { maxFailures: 2, windowSeconds: 60 } });
    for (let i = 0; i < 3; i++) await oauth(key.keyId, 'wrong');
    const limited = (await auditEvents()).filter((e) => e.event === 'rate_limited');
    expect(limited).toEqual([
      expect.objectContaining({ scope: 'key', reason: 'bad_secret', keyId: key.keyId }),
    ]);
    expect(await metrics.registry.metrics()).toMatch(/tokenrelay_issuer_rate_limited_total\{scope="key"\} 1/);
  });
});
