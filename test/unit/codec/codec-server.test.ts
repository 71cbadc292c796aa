import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING } from '../../../src/codec/aes-gcm-codec.js';
import {
  type CodecServerOptions,
  type RunningCodecServer,
  startCodecServer,
  WITHHELD_METADATA,
} from '../../../src/codec/codec-server.js';
import { CodecServerError } from '../../../src/codec/codec-server-errors.js';
import { formatPayloadsJson, parsePayloadsJson } from '../../../src/codec/payloads-json.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'temporal-test';
const UI_ORIGIN = 'http://localhost:8233';
const opaqueKey = `sk_live_${randomBytes(12).toString('hex')}`;

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

let issuerKey: SigningKey;
let strangerKey: SigningKey;
let jwksServer: Server;
let jwksUrl: string;
let jwksRequests = 0;
let codec: AesGcmPayloadCodec;
let otherCodec: AesGcmPayloadCodec;
let server: RunningCodecServer;
const logs: Record<string, unknown>[] = [];
const issued: string[] = [];

function token(
  permissions: string[],
  claims: Record<string, unknown> = {},
  key: SigningKey = issuerKey,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'app-1',
    iat: now,
    exp: now + 300,
    permissions,
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .sign(key.privateKey)
    .then((t) => {
      issued.push(t);
      return t;
    });
}

const tokens = {
  reader: () => token(['default:read']),
  tokenReader: () => token(['default:read', 'default:token.read']),
  developer: () => token(['default:write', 'default:token.read', 'default:token.rotate']),
  rotator: () => token(['default:read', 'default:token.rotate']),
  outsider: () => token(['elsewhere:write']),
  admin: () => token(['temporal-system:admin']),
};

async function startServer(extra: Partial<CodecServerOptions> = {}): Promise<RunningCodecServer> {
  return startCodecServer({
    codec,
    jwks: new URL(jwksUrl),
    issuer: ISSUER,
    audience: AUDIENCE,
    corsOrigins: [UI_ORIGIN],
    maxBodyBytes: 64 * 1024,
    log: (event) => logs.push(event),
    ...extra,
  });
}

interface PostOptions {
  token?: string;
  authorization?: string;
  namespace?: string;
  body?: string;
  contentType?: string;
  method?: string;
  origin?: string;
  target?: RunningCodecServer;
}

async function call(path: string, options: PostOptions = {}) {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.authorization) headers.authorization = options.authorization;
  if (options.namespace) headers['x-namespace'] = options.namespace;
  if (options.origin) headers.origin = options.origin;
  const method = options.method ?? 'POST';
  const response = await fetch(`${(options.target ?? server).url}${path}`, {
    method,
    headers,
    ...(method === 'POST' ? { body: options.body ?? formatPayloadsJson([]) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

async function decode(payloads: Payload[], options: PostOptions = {}): Promise<Payload[]> {
  const response = await call('/decode', { ...options, body: formatPayloadsJson(payloads) });
  expect(response.status, response.text).toBe(200);
  return parsePayloadsJson(response.text);
}

const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value)!;
const value = (payload: Payload | undefined) => defaultPayloadConverter.fromPayload(payload!);
const metadataText = (payload: Payload | undefined, key: string) =>
  Buffer.from(payload?.metadata?.[key] ?? []).toString('utf8');

const apiTokenInfo = {
  version: 1,
  fingerprint: '3f2a9c1d0b7e4a55',
  updatedAt: '2026-07-01T10:00:00.000Z',
  children: { reached: 0, pending: 0, excluded: 0, skipped: 0 },
};

beforeAll(async () => {
  issuerKey = await signingKey('issuer-1');
  strangerKey = await signingKey('issuer-1'); // same kid, other key: a forgery
  // A tiny issuer-like JWKS endpoint, so verification goes through jose's createRemoteJWKSet.
  jwksServer = createServer((_req, res) => {
    jwksRequests += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [issuerKey.publicJwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  codec = await AesGcmPayloadCodec.create({ keys: { k1: randomBytes(32) }, encryptionKeyId: 'k1' });
  otherCodec = await AesGcmPayloadCodec.create({ keys: { k9: randomBytes(32) }, encryptionKeyId: 'k9' });
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => jwksServer?.close(resolve));
  // Neither bearer tokens nor the raw API key ever reach the log.
  const logged = JSON.stringify(logs);
  for (const secret of [...issued, opaqueKey]) expect(logged).not.toContain(secret);
});

describe('codec server authentication', () => {
  it('refuses a request without a bearer token with 401 JSON and a Bearer challenge', async () => {
    const response = await call('/decode');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.json()).toMatchObject({ error: 'codec_server.unauthenticated', reason: 'missing_token' });
  });

  it.each([
    ['garbage', async () => 'not-a-jwt', 'token.malformed'],
    ['another audience', () => token(['default:read'], { aud: 'someone-else' }), 'token.wrong_audience'],
    ['another issuer', () => token(['default:read'], { iss: 'http://evil.test' }), 'token.wrong_issuer'],
    ['an expired token', () => token(['default:read'], { iat: 1_000, exp: 2_000 }), 'token.expired'],
    ['a forged signature', () => token(['default:read'], {}, strangerKey), 'token.bad_signature'],
    [
      'an HMAC token',
      async () =>
        new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 })
          .setProtectedHeader({ alg: 'HS256', kid: 'issuer-1' })
          .sign(randomBytes(32)),
      'token.alg_not_allowed',
    ],
  ])('refuses %s with 401, naming the check and never echoing the token', async (_, make, reason) => {
    const bad = await make();
    const response = await call('/decode', { token: bad });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(response.json()).toMatchObject({ error: 'codec_server.unauthenticated', reason });
    expect(response.text).not.toContain(bad);
  });

  it('refuses a token without kid and a token without exp', async () => {
    const now = Math.floor(Date.now() / 1000);
    const noKid = await new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      exp: now + 60,
      permissions: ['default:read'],
    })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(issuerKey.privateKey);
    expect((await call('/decode', { token: noKid })).json()).toMatchObject({ reason: 'token.missing_kid' });
    const noExp = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, permissions: ['default:read'] })
      .setProtectedHeader({ alg: 'ES256', kid: issuerKey.kid })
      .sign(issuerKey.privateKey);
    expect((await call('/decode', { token: noExp })).json()).toMatchObject({ reason: 'token.missing_claim' });
  });

  it('refuses a permissions claim that is not a list of permissions', async () => {
    const response = await call('/decode', { token: await token('default:read' as unknown as string[]) });
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ reason: 'token.invalid_claim' });
  });

  it('verifies against a JWKS given as a key set too (createLocalJWKSet)', async () => {
    const local = await startServer({ jwks: { keys: [issuerKey.publicJwk] } });
    try {
      expect((await call('/decode', { token: await tokens.reader(), target: local })).status).toBe(200);
    } finally {
      await local.close();
    }
  });

  it('refuses a non-Bearer Authorization header', async () => {
    const response = await call('/decode', {
      authorization: `Basic ${Buffer.from('a:b').toString('base64')}`,
    });
    expect(response.status).toBe(401);
  });

  it('answers 503, not 401, when the issuer keys cannot be fetched', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const isolated = await startServer({ jwks: new URL(`http://127.0.0.1:${port}/jwks.json`) });
    try {
      const response = await call('/decode', { token: await tokens.reader(), target: isolated });
      expect(response.status).toBe(503);
      expect(response.json()).toMatchObject({ error: 'codec_server.jwks_unavailable' });
      expect(response.headers.get('retry-after')).toBe('5');
    } finally {
      await isolated.close();
    }
  });

  it('fetches the JWKS over HTTP and caches it', async () => {
    // Its own calls, so it holds in any test order (unit tests run shuffled).
    expect((await call('/decode', { token: await tokens.reader() })).status).toBe(200);
    const fetched = jwksRequests;
    expect(fetched).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) {
      expect((await call('/decode', { token: await tokens.reader() })).status).toBe(200);
    }
    expect(jwksRequests).toBe(fetched);
  });
});

describe('codec server authorization', () => {
  it('lets a reader decode but not encode', async () => {
    const reader = await tokens.reader();
    expect((await call('/decode', { token: reader })).status).toBe(200);
    const encode = await call('/encode', { token: reader, body: formatPayloadsJson([json('x')]) });
    expect(encode.status).toBe(403);
    expect(encode.json()).toMatchObject({ error: 'codec_server.forbidden' });
  });

  it('lets a reader encode an empty list, which the temporal CLI sends before every query', async () => {
    const reader = await tokens.reader();
    const empty = await call('/encode', { token: reader, body: '{}' });
    expect(empty.status).toBe(200);
    expect(empty.json()).toEqual({ payloads: [] });
    // Someone with no standing in the namespace is refused even that, before the body is read.
    expect((await call('/encode', { token: await tokens.outsider(), body: '{}' })).status).toBe(403);
  });

  it('lets a rotator (read + token.rotate) encode, e.g. for `temporal workflow signal --name apiToken`', async () => {
    const response = await call('/encode', {
      token: await tokens.rotator(),
      body: formatPayloadsJson([json(opaqueKey)]),
    });
    expect(response.status).toBe(200);
    expect(response.text).not.toContain(Buffer.from(JSON.stringify(opaqueKey)).toString('base64'));
  });

  it('refuses callers without read in the X-Namespace namespace', async () => {
    const outsider = await tokens.outsider();
    expect((await call('/decode', { token: outsider })).status).toBe(403);
    expect((await call('/decode', { token: outsider, namespace: 'elsewhere' })).status).toBe(200);
    const reader = await tokens.reader();
    expect((await call('/decode', { token: reader, namespace: 'elsewhere' })).status).toBe(403);
    const everywhere = await token(['*:read']);
    expect((await call('/decode', { token: everywhere, namespace: 'elsewhere' })).status).toBe(200);
  });

  it('refuses a worker-role or grant-only caller (no read role) to decode', async () => {
    expect((await call('/decode', { token: await token(['default:worker']) })).status).toBe(403);
    const grantsOnly = await token(['default:taskqueue.poll:q', 'default:token.read']);
    expect((await call('/decode', { token: grantsOnly })).status).toBe(403);
  });

  it('gives a cluster admin decode and encode, but not tokens (roles never imply token.read)', async () => {
    const admin = await tokens.admin();
    const [sealed] = await codec.encode([json(opaqueKey)]);
    const [answer] = await decode([sealed!], { token: admin });
    expect(metadataText(answer, WITHHELD_METADATA)).toBe('token.read');
    expect((await call('/encode', { token: admin, body: formatPayloadsJson([json(1)]) })).status).toBe(200);
  });

  it('refuses an X-Namespace that is not a namespace name', async () => {
    const response = await call('/decode', { token: await tokens.reader(), namespace: '*' });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: 'codec_server.invalid_request' });
  });
});

describe('codec server decode', () => {
  it('round-trips: what /encode encrypts, /decode returns as it was', async () => {
    const developer = await tokens.developer();
    const originals = [json({ depth: 1 }), json(opaqueKey), json(null)];
    const encoded = await call('/encode', { token: developer, body: formatPayloadsJson(originals) });
    expect(encoded.status).toBe(200);
    const sealed = parsePayloadsJson(encoded.text);
    expect(sealed.map((p) => metadataText(p, 'encoding'))).toEqual(Array(3).fill(ENCRYPTED_ENCODING));
    expect(encoded.text).not.toContain(Buffer.from(JSON.stringify(opaqueKey)).toString('base64'));
    // The workers' own codec reads what the server encrypted: one key set, two places.
    expect((await codec.decode(sealed)).map(value)).toEqual([{ depth: 1 }, opaqueKey, null]);
    expect((await decode(sealed, { token: developer })).map(value)).toEqual([{ depth: 1 }, opaqueKey, null]);
  });

  it('shows a plain reader apiTokenInfo but withholds token payloads, still encrypted and marked', async () => {
    const sealed = await codec.encode([
      json(apiTokenInfo),
      json(opaqueKey),
      json({ apiToken: { token: opaqueKey, version: 1 } }),
      json({ token: opaqueKey, version: 2, apiUrl: null }),
    ]);
    const answer = await decode(sealed, { token: await tokens.reader() });
    expect(value(answer[0])).toEqual(apiTokenInfo);
    for (const [i, withheld] of answer.slice(1).entries()) {
      expect(metadataText(withheld, 'encoding')).toBe(ENCRYPTED_ENCODING);
      expect(metadataText(withheld, WITHHELD_METADATA)).toBe('token.read');
      expect(Buffer.from(withheld.data!)).toEqual(Buffer.from(sealed[i + 1]!.data!));
      // Still the workers' ciphertext: the real codec decrypts it despite the marker.
      expect(await codec.decode([withheld])).toEqual([
        await codec.decode([sealed[i + 1]!]).then((p) => p[0]),
      ]);
    }
    expect(logs.at(-1)).toMatchObject({ event: 'codec_request', op: 'decode', withheld: 3, payloads: 4 });
  });

  it('decrypts token payloads for a token.read holder', async () => {
    const sealed = await codec.encode([
      json(opaqueKey),
      json({ apiToken: { token: opaqueKey, version: 1 } }),
    ]);
    const answer = await decode(sealed, { token: await tokens.tokenReader() });
    expect(answer.map(value)).toEqual([opaqueKey, { apiToken: { token: opaqueKey, version: 1 } }]);
  });

  it('counts a type-restricted token.read grant, unless strictTokenRead is set', async () => {
    const restricted = await token(['default:read', 'default:token.read:inventory*']);
    const sealed = await codec.encode([json(opaqueKey)]);
    expect(value((await decode(sealed, { token: restricted }))[0])).toBe(opaqueKey);
    const strict = await startServer({ strictTokenRead: true });
    try {
      const [answer] = await decode(sealed, { token: restricted, target: strict });
      expect(metadataText(answer, WITHHELD_METADATA)).toBe('token.read');
      const full = await token(['default:read', 'default:token.read:*']);
      expect(value((await decode(sealed, { token: full, target: strict }))[0])).toBe(opaqueKey);
    } finally {
      await strict.close();
    }
  });

  it('does not count token.read in another namespace', async () => {
    const sealed = await codec.encode([json(opaqueKey)]);
    const elsewhere = await token(['default:read', 'elsewhere:token.read']);
    const [answer] = await decode(sealed, { token: elsewhere });
    expect(metadataText(answer, WITHHELD_METADATA)).toBe('token.read');
  });

  it('passes unencrypted payloads through and returns undecryptable ones unchanged, decoding the rest', async () => {
    const [foreign] = await otherCodec.encode([json({ depth: 9 })]);
    const [ours] = await codec.encode([json({ depth: 1 })]);
    const answer = await decode([json({ clear: true }), foreign!, ours!], {
      token: await tokens.developer(),
    });
    expect(value(answer[0])).toEqual({ clear: true });
    expect(answer[1]).toEqual(foreign);
    expect(value(answer[2])).toEqual({ depth: 1 });
    expect(logs.at(-1)).toMatchObject({ undecryptable: 1, undecryptableCodes: ['codec.unknown_key'] });
  });
});

describe('codec server requests', () => {
  it.each([
    ['a body that is not JSON', { body: '{"payloads": [' }, 400, 'codec_server.invalid_request'],
    ['payloads that are not a list', { body: '{"payloads": 3}' }, 400, 'codec_server.invalid_request'],
    [
      'a payload with bad base64',
      { body: '{"payloads":[{"metadata":{"encoding":"%%%"}}]}' },
      400,
      'codec_server.invalid_request',
    ],
    ['another media type', { contentType: 'text/plain' }, 415, 'codec_server.unsupported_media_type'],
    [
      'a body over the limit',
      { body: `{"payloads":[],"pad":"${'x'.repeat(70_000)}"}` },
      413,
      'codec_server.body_too_large',
    ],
    ['GET', { method: 'GET' }, 405, 'codec_server.method_not_allowed'],
  ])('refuses %s', async (_, options, status, error) => {
    const response = await call('/decode', { token: await tokens.developer(), ...options });
    expect(response.status).toBe(status);
    expect(response.json()).toMatchObject({ error });
  });

  it('answers unknown paths with 404 before any authentication', async () => {
    const response = await call('/admin');
    expect(response.status).toBe(404);
    expect(response.json()).toMatchObject({ error: 'codec_server.not_found' });
  });

  it('checks the token before reading the body: an anonymous oversized request gets 401', async () => {
    const response = await call('/decode', { body: `{"pad":"${'x'.repeat(70_000)}"}` });
    expect(response.status).toBe(401);
  });

  it('answers a request that never finishes with 408 JSON within the request timeout', async () => {
    const slow = await startServer({ requestTimeoutMs: 1_000 });
    try {
      const { port } = new URL(slow.url);
      const { connect } = await import('node:net');
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write('POST /decode HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n');
        });
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain('codec_server.request_timeout');
    } finally {
      await slow.close();
    }
  });

  it('serves /health without a token', async () => {
    const response = await call('/health', { method: 'GET' });
    expect(response.status).toBe(200);
  });
});

describe('codec server CORS for the Web UI', () => {
  it('answers a preflight from the configured origin', async () => {
    const response = await call('/decode', { method: 'OPTIONS', origin: UI_ORIGIN });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
  });

  it('refuses a preflight from another origin and sends it no CORS headers', async () => {
    const response = await call('/decode', { method: 'OPTIONS', origin: 'http://evil.test' });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets the UI read answers, refusals included', async () => {
    const ok = await call('/decode', { token: await tokens.reader(), origin: UI_ORIGIN });
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const refused = await call('/decode', { origin: UI_ORIGIN });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('refuses a CORS origin that is not scheme://host[:port]', async () => {
    await expect(startServer({ corsOrigins: ['http://localhost:8233/ui'] })).rejects.toBeInstanceOf(
      CodecServerError,
    );
    await expect(startServer({ corsOrigins: ['*'] })).rejects.toMatchObject({
      code: 'codec_server.invalid_argument',
    });
  });
});
