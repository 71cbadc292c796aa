import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTokenValidator,
  TokenValidationError,
  validateToken,
} from '../../../src/issuer/validate-token.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'temporal-test';
const NOW = 1_800_000_000; // fixed clock, seconds

interface TestKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

let es: TestKey;
let rs: TestKey;
let stranger: TestKey;
let dir: string;

async function makeKey(alg: 'ES256' | 'RS256', kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

beforeAll(async () => {
  es = await makeKey('ES256', 'es-1');
  rs = await makeKey('RS256', 'rs-1');
  stranger = await makeKey('ES256', 'es-1'); // same kid as `es`, different key: a forgery
  dir = await mkdtemp(join(tmpdir(), 'validate-token-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const jwks = () => ({ keys: [es.publicJwk, rs.publicJwk] });
const options = (extra: Partial<Parameters<typeof validateToken>[1]> = {}) => ({
  jwks: jwks(),
  issuer: ISSUER,
  audience: AUDIENCE,
  now: () => NOW * 1000,
  ...extra,
});

function sign(
  key: TestKey,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'app', iat: NOW, exp: NOW + 60, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

async function codeOf(token: string, extra: Partial<Parameters<typeof validateToken>[1]> = {}) {
  try {
    await validateToken(token, options(extra));
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(TokenValidationError);
    return (err as TokenValidationError).code;
  }
}

describe('validateToken', () => {
  it('accepts a valid ES256 and a valid RS256 token and returns the claims', async () => {
    const result = await validateToken(await sign(es), options());
    expect(result.payload).toMatchObject({ sub: 'app', iss: ISSUER });
    expect(result.header.kid).toBe('es-1');
    expect(await codeOf(await sign(rs))).toBe('ok');
  });

  it('reads the JWKS from a file', async () => {
    const path = join(dir, 'jwks.json');
    await writeFile(path, JSON.stringify(jwks()));
    expect(await codeOf(await sign(es), { jwks: path })).toBe('ok');
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['two segments', 'eyJhbGciOiJFUzI1NiJ9.e30'],
    ['a non-JSON header', 'bm90anNvbg.e30.sig'],
  ])('rejects %s as token.malformed', async (_name, token) => {
    expect(await codeOf(token)).toBe('token.malformed');
  });

  it('rejects a token signed by a different key under a known kid: token.bad_signature', async () => {
    expect(await codeOf(await sign(stranger))).toBe('token.bad_signature');
  });

  it('rejects a token whose kid is not in the JWKS: token.unknown_kid', async () => {
    const unknown = await makeKey('ES256', 'nobody');
    expect(await codeOf(await sign(unknown))).toBe('token.unknown_kid');
  });

  it('rejects a token without kid: token.missing_kid', async () => {
    const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: NOW + 60 })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(es.privateKey);
    expect(await codeOf(token)).toBe('token.missing_kid');
  });

  it('rejects HS256, alg none and an algorithm outside a narrowed allow-list: token.alg_not_allowed', async () => {
    const hs = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: NOW + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'es-1' })
      .sign(new TextEncoder().encode('x'.repeat(32)));
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'es-1' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: ISSUER, aud: AUDIENCE, exp: NOW + 60 }),
    ).toString('base64url')}.`;
    expect(await codeOf(hs)).toBe('token.alg_not_allowed');
    expect(await codeOf(none)).toBe('token.alg_not_allowed');
    expect(await codeOf(await sign(rs), { algorithms: ['ES256'] })).toBe('token.alg_not_allowed');
  });

  it('rejects an expired token: token.expired, unless within the clock tolerance', async () => {
    const token = await sign(es, { iat: NOW - 120, exp: NOW - 10 });
    expect(await codeOf(token)).toBe('token.expired');
    expect(await codeOf(token, { clockToleranceSeconds: 30 })).toBe('ok');
  });

  it('rejects a token not valid yet: token.not_yet_valid, unless within the clock tolerance', async () => {
    const token = await sign(es, { nbf: NOW + 20 });
    expect(await codeOf(token)).toBe('token.not_yet_valid');
    expect(await codeOf(token, { clockToleranceSeconds: 30 })).toBe('ok');
  });

  it('rejects a wrong audience and a wrong issuer with their own codes', async () => {
    expect(await codeOf(await sign(es, { aud: 'someone-else' }))).toBe('token.wrong_audience');
    expect(await codeOf(await sign(es, { iss: 'http://evil.test' }))).toBe('token.wrong_issuer');
  });

  it('rejects a token without exp: token.missing_claim naming the claim', async () => {
    const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE })
      .setProtectedHeader({ alg: 'ES256', kid: 'es-1' })
      .sign(es.privateKey);
    const err = await validateToken(token, options()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'token.missing_claim', claim: 'exp' });
  });

  it('reports an unreachable JWKS as token.jwks_unavailable, not as a bad token', async () => {
    const validate = createTokenValidator(options({ jwks: 'http://127.0.0.1:9/jwks.json' }));
    await expect(validate(await sign(es))).rejects.toMatchObject({ code: 'token.jwks_unavailable' });
  });

  it('rejects unusable options up front with a TypeError naming the option', () => {
    expect(() => createTokenValidator(options({ audience: '' }))).toThrow(/audience/);
    expect(() => createTokenValidator(options({ algorithms: ['HS256' as 'ES256'] }))).toThrow(/algorithms/);
    expect(() => createTokenValidator(options({ clockToleranceSeconds: -1 }))).toThrow(
      /clockToleranceSeconds/,
    );
  });
});

describe('validateToken claim shape and size', () => {
  it('refuses a permissions claim that is not a list of <namespace>:<role> strings', async () => {
    expect(await codeOf(await sign(es, { permissions: ['default:write'] }))).toBe('ok');
    expect(await codeOf(await sign(es, { permissions: 'default:write' }))).toBe('token.invalid_claim');
    expect(await codeOf(await sign(es, { permissions: { default: 'admin' } }))).toBe('token.invalid_claim');
    expect(await codeOf(await sign(es, { permissions: ['default:root'] }))).toBe('token.invalid_claim');
  });

  it('refuses a token over maxTokenBytes before looking at it, even when validly signed', async () => {
    const big = await sign(es, { padding: 'x'.repeat(10_000) });
    expect(await codeOf(big)).toBe('token.malformed');
    expect(await codeOf(big, { maxTokenBytes: 20_000 })).toBe('ok');
  });
});
