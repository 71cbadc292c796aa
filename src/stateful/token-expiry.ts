import { decodeJwt } from 'jose';
import { ApiTokenGuardError } from './guard-errors.js';

/** Three base64url segments: what a JWS compact JWT looks like (the signature may be empty). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Throws `apitoken.expired` when `token` is a JWT whose `exp` is not after `now` (this machine's clock).
 * Decodes without verifying: the API behind the token verifies it, this only stops a rotation that
 * could not work. Opaque tokens, JWTs without a numeric `exp` and anything that does not decode pass.
 */
export function assertTokenNotExpired(token: string, what: string, now: number = Date.now()): void {
  if (!JWT_SHAPE.test(token)) return;
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return; // JWT-shaped but not a JWT: treated as opaque.
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp * 1000 > now) return;
  const expiredAt = new Date(exp * 1000).toISOString();
  const ago = Math.round((now - exp * 1000) / 1000);
  throw new ApiTokenGuardError(
    'apitoken.expired',
    `${what}: the token is a JWT that expired at ${expiredAt} (exp ${exp}, ${ago} s ago by this machine's ` +
      'clock); it was not sent. Issue a new token and rotate that one.',
  );
}
