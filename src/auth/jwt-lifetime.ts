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
  return claims.exp * 1000 - receivedAt;
}
