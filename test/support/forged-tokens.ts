// Tokens the issuer never issued: signed with the stack's real key (expired, tampered, wrong claims),
// with a rogue key, unsigned, or HMAC'd with the public key. For tests of what verifiers refuse.
import { createHmac } from 'node:crypto';
import { type CryptoKey, exportSPKI, type JWTPayload, SignJWT } from 'jose';
import { type DevConfig, devLayout } from '../../src/dev.js';
import { loadOrCreateSigningKeys, type SigningKey } from '../../src/issuer/signing-keys.js';

/** The test stack's active signing key (the issuer signs with the last one in its file). */
export async function issuerSigningKey(root: string): Promise<SigningKey> {
  const key = (await loadOrCreateSigningKeys(devLayout(root).signingKeysPath)).at(-1);
  if (!key) throw new Error(`no signing key under ${root}`);
  return key;
}

/**
 * Claims the test stack's Temporal server accepts: its issuer and audience, `default:write` on the
 * stack's namespace, issued now and valid for five minutes; `overrides` replace any of them.
 */
export function stackClaims(config: DevConfig, overrides: JWTPayload = {}): JWTPayload {
  const nowS = Math.floor(Date.now() / 1000);
  return {
    iss: config.issuer.url,
    sub: 'worker',
    aud: config.issuer.audience,
    iat: nowS,
    exp: nowS + 300,
    permissions: [`${config.temporal.namespace}:write`],
    ...overrides,
  };
}

/** Claims as {@link stackClaims}, but issued ten minutes ago and expired a minute ago. */
export function expiredStackClaims(config: DevConfig): JWTPayload {
  const nowS = Math.floor(Date.now() / 1000);
  return stackClaims(config, { iat: nowS - 600, exp: nowS - 60 });
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWS signed with `key`; `header` replaces the default `{ alg, kid, typ }` entirely when given. */
export function signWith(
  claims: JWTPayload,
  key: { alg: string; kid?: string; privateKey: CryptoKey },
  header?: Record<string, unknown>,
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader(
      (header ?? { alg: key.alg, typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) }) as { alg: string },
    )
    .sign(key.privateKey);
}

/** `alg: none`: a header, a payload and an empty signature. */
export function unsignedToken(claims: JWTPayload, kid: string): string {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}.`;
}

/**
 * Algorithm confusion: HS256 keyed with the issuer's public key (its SPKI PEM, which anyone can read
 * from the JWKS), the forgery a verifier that lets the token pick the algorithm would accept.
 */
export async function hmacWithPublicKey(
  claims: JWTPayload,
  publicKey: CryptoKey,
  kid: string,
): Promise<string> {
  const pem = await exportSPKI(publicKey);
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}

/** `token` with its payload replaced by `claims` and the original signature kept. */
export function withTamperedPayload(token: string, claims: JWTPayload): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
}
