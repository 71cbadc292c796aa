import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Access-key secrets are 256 random bits generated here, never chosen by a person, so a fast salted
 * SHA-256 is as strong as a slow KDF against guessing and keeps the token endpoint cheap. Format:
 * `sha256$<salt b64url>$<digest b64url>`.
 */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A key id: public, unique, recognisable in logs (`trk_` prefix) and safe in URLs. */
export function generateKeyId(): string {
  return `trk_${randomBytes(12).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  return `sha256$${salt.toString('base64url')}$${digest(salt, secret).toString('base64url')}`;
}

/** Constant-time comparison; false for any malformed stored hash rather than an exception. */
export function verifySecret(secret: string, stored: string): boolean {
  const [scheme, saltText, digestText] = stored.split('$');
  if (scheme !== 'sha256' || saltText === undefined || digestText === undefined) return false;
  const expected = Buffer.from(digestText, 'base64url');
  const actual = digest(Buffer.from(saltText, 'base64url'), secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function digest(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}
