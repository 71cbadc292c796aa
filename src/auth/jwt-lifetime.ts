import { decodeJwt } from 'jose';
import { AuthError } from './errors.js';

/**
 * How long a JWT is valid, measured on the issuer's own clock (`exp - iat`), so that the caller can
 * add it to its local receipt time and never compare its clock with the issuer's. Without `iat` the
 * best estimate is `exp` against the local clock.
 */
export function jwtLifetimeMs(token: string, receivedAt: number): number {
  let claims: { exp?: unknown; iat?: unknown };
  try {
    claims = decodeJwt(token);
  } catch (cause) {
    throw new AuthError('auth.token_not_jwt', 'the token is not a JWT, so its expiry cannot be read', {
      cause,
    });
  }
  if (typeof claims.exp !== 'number') {
    throw new AuthError(
      'auth.token_not_jwt',
      'the JWT has no numeric exp claim, so its expiry cannot be read',
    );
  }
  if (typeof claims.iat === 'number' && claims.exp > claims.iat) return (claims.exp - claims.iat) * 1000;
  const lifetime = claims.exp * 1000 - receivedAt;
  if (lifetime <= 0) {
    // Without iat the local clock decides; a token already "expired" on arrival means the clocks
    // disagree, and accepting it would make the cache refetch in a tight loop.
    throw new AuthError(
      'auth.invalid_token_response',
      "the JWT has no iat and its exp is already past by this machine's clock: check the clock (NTP) here and at the issuer",
    );
  }
  return lifetime;
}
