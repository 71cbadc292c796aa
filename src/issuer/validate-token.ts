import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { TokenRelayError } from '../errors.js';
import { isPermission } from './permissions.js';

/** Which check a token failed. Stable: callers `switch` on it. */
export type TokenValidationErrorCode =
  | 'token.malformed'
  | 'token.missing_kid'
  | 'token.alg_not_allowed'
  | 'token.unknown_kid'
  | 'token.bad_signature'
  | 'token.expired'
  | 'token.not_yet_valid'
  | 'token.wrong_audience'
  | 'token.wrong_issuer'
  | 'token.missing_claim'
  /** A claim has the wrong type or form (e.g. `permissions` not a list of `<namespace>:<role>`). */
  | 'token.invalid_claim'
  | 'token.jwks_unavailable';

/** A token failed validation; `code` names the check, `claim` the claim involved, if any. */
export class TokenValidationError extends TokenRelayError {
  declare readonly code: TokenValidationErrorCode;
  readonly claim: string | undefined;

  constructor(
    code: TokenValidationErrorCode,
    message: string,
    options?: { cause?: unknown; claim?: string },
  ) {
    super(code, message, options);
    this.claim = options?.claim;
  }
}

export type AllowedAlgorithm = 'ES256' | 'RS256';

export interface ValidateTokenOptions {
  /**
   * Where the verification keys come from: a JWKS URL (fetched and cached, refetched when an unknown
   * `kid` shows up), a path to a JWKS file, or the key set itself.
   */
  jwks: URL | string | JSONWebKeySet;
  /**
   * CA certificate(s), PEM, trusted for an `https` JWKS URL instead of the system's: for an issuer
   * with a private CA (the dev stack's). Default: the system's trust store.
   */
  jwksCa?: string | Buffer;
  /** Required `iss`. */
  issuer: string;
  /** Required `aud` (one of the token's audiences). */
  audience: string;
  /** Accepted `alg` values. Default `['ES256', 'RS256']`; never `none` or HMAC. */
  algorithms?: AllowedAlgorithm[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 0. */
  clockToleranceSeconds?: number;
  /** Current time for the checks. Default `Date.now`. */
  now?: () => number;
  /**
   * Larger tokens are refused as malformed before any parsing or key lookup. Default 8192 bytes:
   * far above a real token (under 1 KiB), far below what would cost a verifier memory or time.
   */
  maxTokenBytes?: number;
}

export interface ValidatedToken {
  payload: JWTPayload;
  header: JWTHeaderParameters;
}

const allowedAlgorithms: readonly AllowedAlgorithm[] = ['ES256', 'RS256'];

/**
 * A reusable validator: the JWKS (when remote) is fetched once and shared by every call.
 *
 * @example
 * const validate = createTokenValidator({ jwks: new URL(jwksUrl), issuer, audience: 'tokenrelay-dev' });
 * try {
 *   const { payload } = await validate(token);
 * } catch (err) {
 *   if (err instanceof TokenValidationError && err.code === 'token.expired') ...
 * }
 */
export function createTokenValidator(
  options: ValidateTokenOptions,
): (token: string) => Promise<ValidatedToken> {
  const algorithms = options.algorithms ?? [...allowedAlgorithms];
  if (algorithms.length === 0 || !algorithms.every((a) => allowedAlgorithms.includes(a))) {
    throw new TypeError(
      `ValidateTokenOptions.algorithms must be a non-empty subset of ${allowedAlgorithms.join(', ')}`,
    );
  }
  if (typeof options.issuer !== 'string' || options.issuer === '') {
    throw new TypeError('ValidateTokenOptions.issuer must be a non-empty string');
  }
  if (typeof options.audience !== 'string' || options.audience === '') {
    throw new TypeError('ValidateTokenOptions.audience must be a non-empty string');
  }
  const tolerance = options.clockToleranceSeconds ?? 0;
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) {
    throw new TypeError('ValidateTokenOptions.clockToleranceSeconds must be a number >= 0');
  }
  const maxTokenBytes = options.maxTokenBytes ?? 8192;
  if (!(Number.isInteger(maxTokenBytes) && maxTokenBytes > 0)) {
    throw new TypeError('ValidateTokenOptions.maxTokenBytes must be a positive integer');
  }
  const keys = keySet(options.jwks, options.jwksCa);
  return async (token) => {
    if (typeof token === 'string' && Buffer.byteLength(token) > maxTokenBytes) {
      throw new TokenValidationError('token.malformed', `the token is larger than ${maxTokenBytes} bytes`);
    }
    const header = checkHeader(token, algorithms);
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: tolerance,
        requiredClaims: ['exp', 'iss', 'aud'],
        ...(options.now ? { currentDate: new Date(options.now()) } : {}),
      });
      checkPermissionsClaim(payload);
      return { payload, header: { ...header, ...protectedHeader } };
    } catch (err) {
      throw translate(err);
    }
  };
}

/** Validates one token; see {@link createTokenValidator} to validate many against a remote JWKS. */
export function validateToken(token: string, options: ValidateTokenOptions): Promise<ValidatedToken> {
  return createTokenValidator(options)(token);
}

function keySet(jwks: ValidateTokenOptions['jwks'], ca: string | Buffer | undefined): JWTVerifyGetKey {
  if (jwks instanceof URL) return remoteKeySet(jwks, ca);
  if (typeof jwks === 'string') {
    if (/^https?:\/\//.test(jwks)) return remoteKeySet(new URL(jwks), ca);
    let parsed: JSONWebKeySet;
    try {
      parsed = JSON.parse(readFileSync(jwks, 'utf8')) as JSONWebKeySet;
    } catch (cause) {
      throw new TokenValidationError('token.jwks_unavailable', `cannot read the JWKS file ${jwks}`, {
        cause,
      });
    }
    return createLocalJWKSet(parsed);
  }
  if (!Array.isArray(jwks?.keys)) throw new TypeError('ValidateTokenOptions.jwks must have a "keys" array');
  return createLocalJWKSet(jwks);
}

function remoteKeySet(url: URL, ca: string | Buffer | undefined): JWTVerifyGetKey {
  if (ca === undefined) return createRemoteJWKSet(url);
  // One pool per validator, trusting only the given CA for the JWKS host.
  const dispatcher = new Agent({ connect: { ca, timeout: 5_000 } });
  return createRemoteJWKSet(url, {
    [customFetch]: (input, init) =>
      undiciFetch(input, {
        method: init.method,
        headers: Object.fromEntries(init.headers),
        redirect: init.redirect,
        signal: init.signal,
        dispatcher,
      }) as unknown as Promise<Response>,
  });
}

// Checked before any key lookup, so a token with a forbidden alg or without kid never costs a JWKS fetch.
function checkHeader(token: string, algorithms: readonly string[]): JWTHeaderParameters {
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw new TokenValidationError('token.malformed', 'not a JWS compact token');
  }
  let header: JWTHeaderParameters;
  try {
    header = decodeProtectedHeader(token) as JWTHeaderParameters;
  } catch (cause) {
    throw new TokenValidationError('token.malformed', 'not a JWS compact token', { cause });
  }
  if (!algorithms.includes(String(header.alg))) {
    throw new TokenValidationError('token.alg_not_allowed', `alg ${String(header.alg)} is not allowed`);
  }
  if (typeof header.kid !== 'string' || header.kid === '') {
    throw new TokenValidationError('token.missing_kid', 'the token header has no kid');
  }
  return header;
}

/**
 * A `permissions` claim that is not a list of `<namespace>:<role>` strings would be misread by a
 * consumer (a string passes a substring `.includes()` check), so it is refused rather than passed on.
 */
function checkPermissionsClaim(payload: JWTPayload): void {
  const permissions = payload.permissions;
  if (permissions === undefined) return;
  if (!Array.isArray(permissions) || !permissions.every((p) => typeof p === 'string' && isPermission(p))) {
    throw new TokenValidationError(
      'token.invalid_claim',
      'claim permissions must be a list of "<namespace>:<role>" strings',
      { claim: 'permissions' },
    );
  }
}

const claimCodes: Record<string, TokenValidationErrorCode> = {
  nbf: 'token.not_yet_valid',
  iat: 'token.not_yet_valid',
  aud: 'token.wrong_audience',
  iss: 'token.wrong_issuer',
};

function translate(err: unknown): TokenValidationError {
  if (err instanceof TokenValidationError) return err;
  if (err instanceof errors.JWTExpired) {
    return new TokenValidationError('token.expired', 'the token has expired', { cause: err, claim: 'exp' });
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const code =
      err.reason === 'missing' ? 'token.missing_claim' : (claimCodes[err.claim] ?? 'token.malformed');
    return new TokenValidationError(code, `claim ${err.claim}: ${err.message}`, {
      cause: err,
      claim: err.claim,
    });
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return new TokenValidationError('token.unknown_kid', 'no key in the JWKS matches the token kid', {
      cause: err,
    });
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenValidationError('token.bad_signature', 'the signature does not verify', { cause: err });
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new TokenValidationError('token.alg_not_allowed', 'the token alg is not allowed', { cause: err });
  }
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new TokenValidationError('token.jwks_unavailable', 'the JWKS could not be fetched', {
      cause: err,
    });
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return new TokenValidationError('token.malformed', 'the token is malformed', { cause: err });
  }
  // Anything else (network failure fetching the JWKS, an unusable key) is not the token's fault.
  return new TokenValidationError(
    'token.jwks_unavailable',
    'the token could not be checked against the JWKS',
    {
      cause: err,
    },
  );
}
