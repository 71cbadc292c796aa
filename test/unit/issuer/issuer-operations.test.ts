import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createAccessKey,
  createApplication,
  pauseAccessKey,
  resumeAccessKey,
  revokeAccessKey,
} from '../../../src/issuer/application-admin.js';
import { ApplicationStore } from '../../../src/issuer/applications.js';
import { AuditLog } from '../../../src/issuer/audit-log.js';
import { resolveIssuerConfig } from '../../../src/issuer/config.js';
import { IssuerMetrics } from '../../../src/issuer/issuer-metrics.js';
import { createIssuerServer, type IssuerOptions } from '../../../src/issuer/server.js';
import { rotateSigningKey } from '../../../src/issuer/signing-key-admin.js';
import { SigningKeyRing } from '../../../src/issuer/signing-key-ring.js';
import { readOrCreateSigningKeysFile } from '../../../src/issuer/signing-keys.js';

let dir: string;
let server: Server | undefined;
let base: string;
let clock: number;
let audit: AuditLog;
let metrics: IssuerMetrics;
let paths: { applicationsPath: string; signingKeysPath: string; auditLogPath: string };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'issuer-ops-'));
  paths = {
    applicationsPath: join(dir, 'applications.json'),
    signingKeysPath: join(dir, 'signing-keys.json'),
    auditLogPath: join(dir, 'audit.log'),
  };
  clock = Date.now();
  audit = new AuditLog(paths.auditLogPath);
  metrics = new IssuerMetrics();
});

afterEach(async () => {
  if (server) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const admin = () => ({
  applicationsPath: paths.applicationsPath,
  audit: (e: Parameters<AuditLog['record']>[0]) => audit.record(e),
});

async function start(extra: Partial<IssuerOptions> = {}): Promise<void> {
  await readOrCreateSigningKeysFile(paths.signingKeysPath);
  clock = Date.now(); // not before the first key's creation, or no key would be active
  const applications = new ApplicationStore(paths.applicationsPath);
  const created = createIssuerServer({
    issuer: 'http://issuer.test',
    audience: 'temporal-test',
    applications,
    signingKeys: new SigningKeyRing(paths.signingKeysPath, {
      maxTokenLifetimeSeconds: async () => 600,
      now: () => clock,
    }),
    rateLimit: { maxFailures: 3, windowSeconds: 10 },
    audit: (e) => audit.record(e),
    metrics,
    now: () => clock,
    ...extra,
  });
  server = created;
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(created.address() as AddressInfo).port}`;
}

function apiToken(keyId: string, keySecret: string) {
  return fetch(`${base}/api/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ keyId, keySecret }),
  });
}

describe('access key lifecycle through the token endpoint', () => {
  it('pause and revoke refuse at once with invalid_client; resume restores', async () => {
    const { key } = await createApplication(admin(), { id: 'billing', permissions: ['default:write'] });
    await start({ rateLimit: false });
    expect((await apiToken(key.keyId, key.secret)).status).toBe(200);
    await pauseAccessKey(admin(), key.keyId);
    const paused = await apiToken(key.keyId, key.secret);
    expect(paused.status).toBe(401);
    expect(await paused.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
    await resumeAccessKey(admin(), key.keyId);
    expect((await apiToken(key.keyId, key.secret)).status).toBe(200);
    await revokeAccessKey(admin(), key.keyId);
    expect((await apiToken(key.keyId, key.secret)).status).toBe(401);
  });

  it('an access key past its expiry is refused with invalid_client and audited as key_expired', async () => {
    const { key } = await createApplication(admin(), {
      id: 'billing',
      permissions: ['default:write'],
      keyExpiresInSeconds: 60,
    });
    await start({ rateLimit: false });
    expect((await apiToken(key.keyId, key.secret)).status).toBe(200);
    clock += 60_000;
    const expired = await apiToken(key.keyId, key.secret);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: 'invalid_client' });
    await new Promise((r) => setTimeout(r, 20));
    await audit.flush();
    const events = (await readFile(paths.auditLogPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.at(-1)).toMatchObject({ event: 'token_failed', reason: 'key_expired', keyId: key.keyId });
  });

  // Regression: a cache keyed by mtime + size missed a same-size edit within one timestamp tick.
  it('sees an edit that keeps the file size and modification time', async () => {
    const { key } = await createApplication(admin(), { id: 'billing', permissions: ['default:write'] });
    await start({ rateLimit: false });
    expect((await apiToken(key.keyId, key.secret)).status).toBe(200);
    const before = await readFile(paths.applicationsPath, 'utf8');
    const { mtime } = await stat(paths.applicationsPath);
    const after = before.replace('"status": "active"', '"status": "paused"');
    expect(after.length).toBe(before.length);
    await writeFile(paths.applicationsPath, after);
    await utimes(paths.applicationsPath, mtime, mtime);
    expect((await apiToken(key.keyId, key.secret)).status).toBe(401);
  });
});

describe('failed-authentication rate limit', () => {
  it('limits a guessed key id per key, and lets other keys from the same address through', async () => {
    const a = await createApplication(admin(), { id: 'a', permissions: ['default:write'] });
    const guessed = await createApplication(admin(), { id: 'guessed', permissions: ['default:read'] });
    await start(); // 3 per key, 15 per address by default
    for (let i = 0; i < 3; i++) expect((await apiToken(guessed.key.keyId, 'nope')).status).toBe(401);
    expect((await apiToken(guessed.key.keyId, 'nope')).status).toBe(429);
    // A worker behind the same NAT address is not locked out by someone else's guessing.
    expect((await apiToken(a.key.keyId, a.key.secret)).status).toBe(200);
  });

  it('answers the failed attempt that crosses the limit with 429 and Retry-After, and recovers after the window', async () => {
    const { key } = await createApplication(admin(), { id: 'billing', permissions: ['default:write'] });
    await start();
    for (let i = 0; i < 3; i++) expect((await apiToken(key.keyId, 'wrong')).status).toBe(401);
    const limited = await apiToken(key.keyId, 'wrong');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('10');
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    // The right secret is never refused by the limit.
    expect((await apiToken(key.keyId, key.secret)).status).toBe(200);
    clock += 5_000;
    expect((await apiToken(key.keyId, 'wrong')).headers.get('retry-after')).toBe('5');
    clock += 10_001;
    expect((await apiToken(key.keyId, 'wrong')).status).toBe(401);
  });

  it('limits per key id across client addresses, and per client address across key ids', async () => {
    const a = await createApplication(admin(), { id: 'a', permissions: ['default:write'] });
    const b = await createAccessKey(admin(), 'a');
    await start({ rateLimit: { maxFailures: 3, maxFailuresPerIp: 4, windowSeconds: 10 } });
    // Four different unknown ids from one address: the fifth failure from it is limited.
    for (const id of ['trk_x1', 'trk_x2', 'trk_x3', 'trk_x4']) {
      expect((await apiToken(id, 'nope')).status).toBe(401);
    }
    expect((await apiToken(b.keyId, 'nope')).status).toBe(429);
    expect((await apiToken(b.keyId, b.secret)).status).toBe(200);
    expect(a.key.keyId).not.toBe(b.keyId);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tokenrelay_issuer_rate_limited_total\{scope="ip"\} 1/);
  });
});

describe('audit log and metrics', () => {
  it('record issued, failed (with reason) and key changes, never a secret or a token', async () => {
    const { key } = await createApplication(admin(), { id: 'billing', permissions: ['default:write'] });
    await start();
    const issued = await apiToken(key.keyId, key.secret);
    const { token } = (await issued.json()) as { token: string };
    await apiToken(key.keyId, 'wrong-secret-value');
    await apiToken(key.secret, key.keyId); // id and secret swapped: the secret must not be logged as an id
    await pauseAccessKey(admin(), key.keyId);
    await apiToken(key.keyId, key.secret);
    await audit.flush();
    const text = await readFile(paths.auditLogPath, 'utf8');
    const events = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual([
      'app_created',
      'key_created',
      'token_issued',
      'token_failed',
      'token_failed',
      'key_paused',
      'token_failed',
    ]);
    expect(events[2]).toMatchObject({
      app: 'billing',
      keyId: key.keyId,
      kid: decodeProtectedHeader(token).kid,
    });
    expect(events.filter((e) => e.event === 'token_failed').map((e) => e.reason)).toEqual([
      'bad_secret',
      'unknown_key',
      'key_paused',
    ]);
    expect(text).not.toContain(key.secret);
    expect(text).not.toContain(token);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);

    const metricsText = await (await fetch(`${base}/metrics`)).text();
    expect(metricsText).toMatch(/tokenrelay_issuer_tokens_issued_total\{endpoint="api"\} 1/);
    expect(metricsText).toMatch(/tokenrelay_issuer_token_failures_total\{reason="invalid_client"\} 3/);
    expect(metricsText).toMatch(
      /tokenrelay_issuer_request_duration_seconds_count\{route="\/api\/token",status="200"\} 1/,
    );
    expect(metricsText).not.toContain(key.secret);
    expect(metricsText).not.toContain(token);
  });

  it('serves /health and /ready, and is not ready without an active signing key', async () => {
    await start();
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(await (await fetch(`${base}/ready`)).json()).toMatchObject({ status: 'ready', signingKeys: 1 });
    clock -= 3_600_000; // before the only key's activation
    expect((await fetch(`${base}/ready`)).status).toBe(503);
  });
});

describe('signing-key rotation in a running issuer', () => {
  it('publishes a rotated key at once, signs with it only after the publish-ahead time, and retires the old one', async () => {
    const { key } = await createApplication(admin(), {
      id: 'billing',
      permissions: ['default:write'],
      tokenLifetimeSeconds: 60,
    });
    await start({ rateLimit: false, jwksMaxAgeSeconds: 15 });
    const kidOf = async () =>
      decodeProtectedHeader(
        ((await (await apiToken(key.keyId, key.secret)).json()) as { token: string }).token,
      ).kid;
    const jwksKids = async () => {
      const res = await fetch(`${base}/.well-known/jwks.json`);
      expect(res.headers.get('cache-control')).toBe('public, max-age=15');
      return ((await res.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    };
    const oldKid = await kidOf();
    const config = resolveIssuerConfig(
      { audience: 'x', verifierJwksRefreshSeconds: 30 },
      join(dir, 'issuer.json'),
      {},
    );
    // Another process (the CLI) rotates; the running issuer only sees the file change.
    const { created } = await rotateSigningKey({ ...config, now: () => clock });
    expect(created.state).toBe('pending');
    expect(await jwksKids()).toEqual([oldKid, created.kid]);
    expect(await kidOf()).toBe(oldKid);
    clock += 60_000; // publish-ahead = 2 × 30 s
    expect(await kidOf()).toBe(created.kid);
    expect(await jwksKids()).toEqual([oldKid, created.kid]); // retiring: its tokens are still live
    clock += 600_000; // the ring's max token lifetime
    expect(await jwksKids()).toEqual([created.kid]);
  });
});
