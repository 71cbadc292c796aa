// Verifies the bearer JWTs the codec server is called with, the way Temporal's claim mapper verifies
// them: signed by a key in the issuer's JWKS, `iss` and `aud` as configured, ES256 or RS256 only, not
// expired. jose directly rather than the issuer's validator: the SDK does not depend on the issuer
// (docs/architecture.md §1).
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { isPermission } from '../auth/permissions.js';
import { CodecServerError } from './codec-server-errors.js';

export type JwtAlgorithm = 'ES256' | 'RS256';

export interface JwtVerifierOptions {
  /** The issuer's JWKS URL (fetched with createRemoteJWKSet, cached, refetched for an unknown kid) or the set. */
  jwks: URL | JSONWebKeySet;
  issuer: string;
  audience: string;
  /** Default both; never `none` or HMAC. */
  algorithms?: JwtAlgorithm[];
  /** Allowed clock skew in seconds. Default 0, as Temporal. */
  clockToleranceSeconds?: number;
}

const ALGORITHMS: readonly JwtAlgorithm[] = ['ES256', 'RS256'];
/** Far above a real token (under 1 KiB), far below what would cost a verifier time. */
const MAX_TOKEN_BYTES = 8192;

/**
 * A function from a bearer token to its verified claims; refusals are CodecServerError
 * `unauthenticated` with `reason` naming the failed check (`token.expired`, `token.wrong_audience`, …),
 * or `jwks_unavailable` when the issuer's keys cannot be fetched.
 */
export function createJwtVerifier(options: JwtVerifierOptions): (token: string) => Promise<JWTPayload> {
  const algorithms = options.algorithms ?? [...ALGORITHMS];
  if (algorithms.length === 0 || !algorithms.every((a) => ALGORITHMS.includes(a))) {
    throw invalidArgument(`algorithms must be a non-empty subset of ${ALGORITHMS.join(', ')}`);
  }
  if (typeof options.issuer !== 'string' || options.issuer === '')
    throw invalidArgument('issuer is required');
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw invalidArgument('audience is required');
  }
  const keys: JWTVerifyGetKey =
    options.jwks instanceof URL ? createRemoteJWKSet(options.jwks) : createLocalJWKSet(options.jwks);
  return async (token) => {
    checkHeader(token, algorithms);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: options.clockToleranceSeconds ?? 0,
        requiredClaims: ['exp', 'iss', 'aud'],
      }));
    } catch (err) {
      throw translate(err);
    }
    const permissions = payload.permissions;
    if (permissions !== undefined && !(Array.isArray(permissions) && permissions.every(isPermission))) {
      throw refused('token.invalid_claim', 'claim permissions is not a list of permissions');
    }
    return payload;
  };
}

// Before any key lookup, so a token with a forbidden alg or without kid never costs a JWKS fetch.
function checkHeader(token: string, algorithms: readonly string[]): void {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES || token.split('.').length !== 3) {
    throw refused('token.malformed', 'not a JWS compact token');
  }
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw refused('token.malformed', 'not a JWS compact token', cause);
  }
  if (!algorithms.includes(String(header.alg))) {
    throw refused('token.alg_not_allowed', `alg ${String(header.alg).slice(0, 20)} is not allowed`);
  }
  if (typeof header.kid !== 'string' || header.kid === '') {
    throw refused('token.missing_kid', 'the token header has no kid');
  }
}

const claimReasons: Record<string, string> = {
  nbf: 'token.not_yet_valid',
  iat: 'token.not_yet_valid',
  aud: 'token.wrong_audience',
  iss: 'token.wrong_issuer',
};

function translate(err: unknown): CodecServerError {
  if (err instanceof errors.JWTExpired) return refused('token.expired', 'the token has expired', err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reason =
      err.reason === 'missing' ? 'token.missing_claim' : (claimReasons[err.claim] ?? 'token.malformed');
    return refused(reason, `claim ${err.claim} was not accepted`, err);
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return refused('token.unknown_kid', 'no key in the JWKS matches the token kid', err);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return refused('token.bad_signature', 'the signature does not verify', err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return refused('token.alg_not_allowed', 'alg not allowed', err);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return refused('token.malformed', 'the token is malformed', err);
  }
  // A network failure, a timeout or an unusable JWKS: not the token's fault.
  return new CodecServerError(
    'codec_server.jwks_unavailable',
    "the issuer's keys cannot be fetched; try again",
    {
      cause: err,
    },
  );
}

function refused(reason: string, detail: string, cause?: unknown): CodecServerError {
  // The check that failed is safe to name; the token itself never appears.
  return new CodecServerError('codec_server.unauthenticated', `the token was not accepted: ${detail}`, {
    cause,
    reason,
  });
}

function invalidArgument(message: string): CodecServerError {
  return new CodecServerError('codec_server.invalid_argument', `codec server: ${message}`);
}
