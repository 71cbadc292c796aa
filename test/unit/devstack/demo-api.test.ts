import { mkdtemp } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoApiServer, type DemoApiStats } from '../../../src/devstack/demo-api.js';

const issuer = 'http://issuer.test';
const audience = 'tokenrelay-demo-api';
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let jwksServer: Server;
let api: Server;
let url: string;

function sign(claims: { aud?: string; jti?: string; exp?: number }) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(issuer)
    .setSubject('apiClient')
    .setAudience(claims.aud ?? audience)
    .setJti(claims.jti ?? 'jti-1')
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 60)
    .sign(keys.privateKey);
}

const call = (token?: string) =>
  fetch(`${url}/regions/eu/inventory`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

beforeAll(async () => {
  keys = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwksServer = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  const dir = await mkdtemp(join(tmpdir(), 'tokenrelay-demo-api-'));
  api = await createDemoApiServer({ issuer, jwksUrl, audience, revokedPath: join(dir, 'revoked.json') });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(() => {
  api.close();
  jwksServer.close();
});

describe('the demo API', () => {
  it('accepts a token for its audience and refuses one for Temporal, one missing, and an expired one', async () => {
    expect((await call(await sign({}))).status).toBe(200);
    expect((await call(await sign({ aud: 'tokenrelay-dev' }))).status).toBe(401);
    expect((await call()).status).toBe(401);
    expect((await call(await sign({ exp: Math.floor(Date.now() / 1000) - 120 }))).status).toBe(401);
    const stats = (await (await fetch(`${url}/stats`)).json()) as DemoApiStats;
    expect(stats.rejected).toMatchObject({ 'token.wrong_audience': 1, missing_token: 1, 'token.expired': 1 });
  });

  it('refuses a revoked token from the moment it is revoked, and only that one', async () => {
    const old = await sign({ jti: 'old' });
    const next = await sign({ jti: 'new' });
    expect((await call(old)).status).toBe(200);
    const revoked = await fetch(`${url}/admin/revoke`, {
      method: 'POST',
      body: JSON.stringify({ jti: 'old' }),
    });
    expect(revoked.status).toBe(204);
    const refused = await call(old);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { reason: string }).reason).toBe('revoked');
    expect((await call(next)).status).toBe(200);
    const stats = (await (await fetch(`${url}/stats`)).json()) as DemoApiStats;
    expect(stats.acceptedByJti).toMatchObject({ old: 1, new: 1 });
  });
});
