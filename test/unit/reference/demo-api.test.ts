import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createDemoApiServer, type DemoApiStats } from '../../../src/reference/demo-api.js';

const issuer = 'http://issuer.test';
const audience = 'tokenrelay-demo-api';
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let jwksServer: Server;
let api: Server;
let url: string;
let dir: string;
let jwksUrl: string;

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
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  dir = await mkdtemp(join(tmpdir(), 'tokenrelay-demo-api-'));
  ({ server: api, url } = await startApi('revoked.json'));
});

/** A demo API of its own (50 revocations at most, revocations in `file` under the test folder). */
async function startApi(file: string): Promise<{ server: Server; url: string; revokedPath: string }> {
  const path = join(dir, file);
  const server = await createDemoApiServer({
    issuer,
    jwksUrl,
    audience,
    revokedPath: path,
    maxRevoked: 50,
    requestTimeoutMs: 1_500,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, revokedPath: path };
}

afterAll(async () => {
  api.close();
  jwksServer.close();
  await rm(dir, { recursive: true, force: true });
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
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jti: 'old' }),
    });
    expect(revoked.status).toBe(204);
    const refused = await call(old);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { reason: string }).reason).toBe('revoked');
    expect((await call(next)).status).toBe(200);
    const stats = (await (await fetch(`${url}/stats?jti=old&jti=new`)).json()) as DemoApiStats;
    expect(stats.acceptedByJti).toEqual({ old: 1, new: 1 });
  });
});

/** A raw request, so Host, Origin and content type are exactly what a hostile page could send. */
function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('F9 demo API: a web page could revoke tokens', () => {
  const host = () => new URL(url).host;

  it('refuses text/plain and form bodies on /admin/revoke (a page can send those without a preflight)', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await raw('/admin/revoke', {
        method: 'POST',
        headers: { host: host(), 'content-type': type },
        body: '{"jti":"victim"}',
      });
      expect(res.status, type).toBe(415);
    }
  });

  it('refuses a cross-origin Origin or Sec-Fetch-Site, accepts same-origin and non-browser clients', async () => {
    const post = (headers: Record<string, string>) =>
      raw('/admin/revoke', {
        method: 'POST',
        headers: { host: host(), 'content-type': 'application/json', ...headers },
        body: '{"jti":"cross-origin-test"}',
      });
    expect((await post({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ origin: 'null' })).status).toBe(403);
    expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ origin: `http://${host()}`, 'sec-fetch-site': 'same-origin' })).status).toBe(204);
    expect((await post({})).status).toBe(204);
  });

  it('refuses a Host it does not serve on every route (DNS rebinding)', async () => {
    const { port } = new URL(url);
    expect((await raw('/stats', { headers: { host: `evil.example:${port}` } })).status).toBe(421);
    expect((await raw('/stats', { headers: { host: 'localhost:1' } })).status).toBe(421);
    expect(
      (
        await raw('/admin/revoke', {
          method: 'POST',
          headers: { host: `rebound.example:${port}`, 'content-type': 'application/json' },
          body: '{"jti":"x"}',
        })
      ).status,
    ).toBe(421);
    expect((await raw('/health', { headers: { host: `localhost:${port}` } })).status).toBe(200);
  });
});

describe('F9 demo API: the revocation list grows without bound', () => {
  it('refuses junk ids and holds at most maxRevoked revocations on disk', async () => {
    // An API of its own: filling the shared one's list would refuse every later test's revocation.
    const own = await startApi('revoked-bound.json');
    onTestFinished(() => {
      own.server.close();
    });
    const post = (body: unknown) =>
      fetch(`${own.url}/admin/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (let i = 0; i < 300; i++) {
      expect((await post({ jti: `${i}-${'x'.repeat(3_900)}` })).status).toBe(400);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await post({ jti: `junk-${i}` })).status);
    expect(statuses.filter((s) => s === 204).length).toBeLessThanOrEqual(50);
    expect(statuses.at(-1)).toBe(507);
    expect((await stat(own.revokedPath)).size).toBeLessThan(50 * 200);
  }, 60_000);
});

describe('F9 demo API: /stats lists live token ids', () => {
  it('names no token id unless the caller names it', async () => {
    const token = await sign({ jti: 'live-secret-id' });
    expect((await call(token)).status).toBe(200);
    const text = await (await fetch(`${url}/stats`)).text();
    expect(text).not.toContain('live-secret-id');
    const asked = (await (await fetch(`${url}/stats?jti=live-secret-id`)).json()) as DemoApiStats;
    expect(asked.acceptedByJti).toEqual({ 'live-secret-id': 1 });
  });
});

describe('F9 demo API: no request timeouts', () => {
  it('cuts off a client that sends its body one byte a second', async () => {
    const { port } = new URL(url);
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let timer: NodeJS.Timeout | undefined;
      const giveUp = setTimeout(() => socket.destroy(), 15_000);
      socket.on('connect', () => {
        socket.write(
          `POST /admin/revoke HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n`,
        );
        timer = setInterval(() => socket.write('a'), 500);
      });
      socket.on('close', () => {
        clearInterval(timer);
        clearTimeout(giveUp);
        resolve(Date.now() - started);
      });
      socket.on('error', () => {});
    });
    expect(closedAfter).toBeLessThan(10_000);
  }, 20_000);
});
