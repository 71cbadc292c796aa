import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationStore } from '../../../src/issuer/applications.js';
import { hashSecret } from '../../../src/issuer/secrets.js';
import { createIssuerServer, type IssuerLogEvent } from '../../../src/issuer/server.js';
import { loadOrCreateSigningKeys } from '../../../src/issuer/signing-keys.js';

const SECRET = 'correct-horse-battery-staple-0123456789';
let dir: string;
let server: Server;
let base: string;
const events: IssuerLogEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'issuer-test-'));
  const applications = new ApplicationStore(join(dir, 'applications.json'));
  await applications.write({
    applications: [
      {
        id: 'worker-app',
        permissions: ['default:write', 'default:read'],
        tokenLifetimeSeconds: 120,
        keys: [
          {
            id: 'trk_active',
            secretHash: hashSecret(SECRET),
            status: 'active',
            createdAt: '2026-01-01T00:00:00Z',
          },
          {
            id: 'trk_paused',
            secretHash: hashSecret(SECRET),
            status: 'paused',
            createdAt: '2026-01-01T00:00:00Z',
          },
        ],
      },
      {
        id: 'api-client',
        permissions: ['demo-api:read'],
        audience: 'some-api',
        keys: [
          {
            id: 'trk_api',
            secretHash: hashSecret(SECRET),
            status: 'active',
            createdAt: '2026-01-01T00:00:00Z',
          },
        ],
      },
    ],
  });
  server = createIssuerServer({
    issuer: 'http://issuer.test',
    audience: 'temporal-test',
    applications,
    signingKeys: await loadOrCreateSigningKeys(join(dir, 'keys.json')),
    log: (e) => events.push(e),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function tokenRequest(body: string, headers: Record<string, string> = {}) {
  return fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
}

async function verify(token: string) {
  const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as Parameters<
    typeof createLocalJWKSet
  >[0];
  return jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: 'http://issuer.test',
    audience: 'temporal-test',
  });
}

describe('POST /oauth/token', () => {
  it('issues an ES256 JWT with kid and the contract claims for HTTP Basic client auth', async () => {
    const res = await tokenRequest('grant_type=client_credentials', {
      authorization: basic('trk_active', SECRET),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as {
      access_token: string;
      token_type: string;
      expires_in: number;
      scope: string;
    };
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 120,
      scope: 'default:write default:read',
    });
    const { payload, protectedHeader } = await verify(body.access_token);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    expect(payload).toMatchObject({ sub: 'worker-app', permissions: ['default:write', 'default:read'] });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(120);
    expect(payload.jti).toEqual(expect.any(String));
  });

  it('accepts client_id and client_secret as form fields, and narrows to a requested scope', async () => {
    const res = await tokenRequest(
      `grant_type=client_credentials&client_id=trk_active&client_secret=${SECRET}&scope=default%3Aread`,
    );
    expect(res.status).toBe(200);
    const { payload } = await verify(((await res.json()) as { access_token: string }).access_token);
    expect(payload.permissions).toEqual(['default:read']);
  });

  it('answers a wrong secret and an unknown id identically: 401 invalid_client', async () => {
    const wrongSecret = await tokenRequest('grant_type=client_credentials', {
      authorization: basic('trk_active', 'nope'),
    });
    const unknownId = await tokenRequest('grant_type=client_credentials', {
      authorization: basic('trk_nobody', SECRET),
    });
    for (const res of [wrongSecret, unknownId]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="tokenrelay"');
    }
    expect(await wrongSecret.json()).toEqual(await unknownId.json());
  });

  it('refuses a paused key with invalid_client', async () => {
    const res = await tokenRequest('grant_type=client_credentials', {
      authorization: basic('trk_paused', SECRET),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it.each([
    ['a missing grant_type', '', {}, 400, 'invalid_request'],
    ['an unsupported grant type', 'grant_type=password', {}, 400, 'unsupported_grant_type'],
    [
      'a repeated parameter',
      'grant_type=client_credentials&grant_type=client_credentials',
      {},
      400,
      'invalid_request',
    ],
    [
      'two client auth methods',
      `grant_type=client_credentials&client_secret=${SECRET}`,
      { authorization: basic('trk_active', SECRET) },
      400,
      'invalid_request',
    ],
    ['no client auth at all', 'grant_type=client_credentials', {}, 401, 'invalid_client'],
    [
      'a scope beyond the permissions',
      'grant_type=client_credentials&scope=default%3Aadmin',
      { authorization: basic('trk_active', SECRET) },
      400,
      'invalid_scope',
    ],
  ])('answers %s per RFC 6749 §5.2', async (_case, body, headers, status, error) => {
    const res = await tokenRequest(body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error });
  });

  it('refuses a JSON body on the form endpoint and an oversized body', async () => {
    const json = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(400);
    const huge = await tokenRequest(`grant_type=client_credentials&pad=${'x'.repeat(20_000)}`);
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: 'body_too_large' });
  });
});

/**
 * Sends the headers of a `bodyBytes` request, waits for the issuer's answer, then sends the body in
 * 64 KiB writes. Resolves with the answer, whether any write failed, and whether the issuer closed the
 * connection before the last byte was sent.
 */
function sendBodyAfterAnswer(
  path: string,
  headers: string,
  bodyBytes: number,
): Promise<{ answer: string; writeFailed: boolean; closedEarly: boolean }> {
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    let sentAll = false;
    let closedEarly = false;
    let writeFailed = false;
    socket.on('error', () => {
      writeFailed = true;
    });
    socket.on('end', () => {
      closedEarly = !sentAll;
    });
    socket.on('close', () => resolve({ answer, writeFailed, closedEarly }));
    socket.once('data', async () => {
      const chunk = Buffer.alloc(64 * 1024, 'a');
      for (let sent = 0; sent < bodyBytes && !socket.destroyed; sent += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent));
        if (!socket.write(part)) await new Promise((r) => socket.once('drain', r));
      }
      sentAll = true;
    });
    socket.on('data', (data: Buffer) => {
      answer += data.toString();
    });
    // connection: close, as Node's http.request without an agent sends: the case that raced.
    socket.write(`POST ${path} HTTP/1.1\r\nhost: issuer.test\r\nconnection: close\r\n${headers}\r\n`);
  });
}

// Regression (hostile-requests "JSON: 1 MiB body" failed now and then with EPIPE): the issuer answered
// 413 and closed while the client was still writing, so the client could see a reset, not the answer.
describe('a request refused before its body was read', () => {
  it('gets its answer at once, and the connection stays open until the whole body was sent', async () => {
    const bytes = 1024 * 1024;
    const result = await sendBodyAfterAnswer(
      '/api/token',
      `content-type: application/json\r\ncontent-length: ${bytes}\r\n`,
      bytes,
    );
    expect(result.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(result.answer).toMatch(/connection: close/i);
    expect(result.answer).toContain('"error":"body_too_large"');
    expect(result).toMatchObject({ writeFailed: false, closedEarly: false });
  });

  it('does the same for a chunked body that crosses the limit while it is read', async () => {
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    let writeFailed = false;
    socket.on('error', () => {
      writeFailed = true;
    });
    socket.write(
      'POST /oauth/token HTTP/1.1\r\nhost: issuer.test\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const chunk = 'a'.repeat(8 * 1024);
    for (let i = 0; i < 64; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await new Promise<void>((r) => {
      const wait = () => (answer.includes('body_too_large') ? r() : socket.once('data', wait));
      wait();
    });
    // The answer came; the issuer is still reading: the end of the body goes through, then it closes.
    socket.end('0\r\n\r\n');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(writeFailed).toBe(false);
  });
});

describe('POST /api/token', () => {
  it('issues a token for a JSON key id and secret', async () => {
    const res = await fetch(`${base}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keyId: 'trk_active', keySecret: SECRET }),
    });
    expect(res.status).toBe(200);
    const { payload } = await verify(((await res.json()) as { token: string }).token);
    expect(payload.sub).toBe('worker-app');
  });

  it('answers malformed JSON with 400 invalid_request', async () => {
    const res = await fetch(`${base}/api/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('other routes', () => {
  it('serves health, 404 and 405 as JSON without internals', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    const wrongMethod = await fetch(`${base}/oauth/token`);
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.text()).not.toMatch(/at .*\.ts:\d+/);
  });

  it('never puts a secret or a token in its log events', async () => {
    // A token issued and a wrong secret refused here, whatever ran before.
    const issue = (keySecret: string) =>
      fetch(`${base}/api/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ keyId: 'trk_active', keySecret }),
      });
    expect((await issue(SECRET)).status).toBe(200);
    expect((await issue(`${SECRET}-wrong`)).status).toBe(401);
    const text = JSON.stringify(events);
    expect(events.some((e) => e.event === 'token_issued')).toBe(true);
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});

describe('an application with its own audience', () => {
  it("gets tokens for that audience instead of the issuer's", async () => {
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`trk_api:${SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0];
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks), {
      issuer: 'http://issuer.test',
    });
    expect(payload.aud).toBe('some-api');
    expect(payload.sub).toBe('api-client');
  });
});
