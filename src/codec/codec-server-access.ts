// Who is calling the codec server and what they may do in a namespace: the same JWTs Temporal accepts,
// read with the permission grammar of src/auth/permissions.ts.
import { type GrantAction, Permissions, parsePermission } from '../auth/permissions.js';
import { CodecServerError } from './codec-server-errors.js';
import { createJwtVerifier, type JwtVerifierOptions } from './codec-server-jwt.js';

/** What one caller may do in one namespace. */
export interface CodecAccess {
  /** The token's `sub` (an application id), for logs. */
  subject: string | undefined;
  namespace: string;
  /** At least Temporal's `read` role in the namespace. */
  decode: boolean;
  /** Temporal's `write` role (or admin), or a `token.rotate` grant for any workflow type. */
  encode: boolean;
  /** A `token.read` grant in the namespace: payloads that may hold a raw token are decrypted too. */
  readTokens: boolean;
}

/** `jwks`, `issuer`, `audience`: the issuer whose tokens Temporal accepts, and Temporal's audience. */
export interface CodecAccessOptions extends JwtVerifierOptions {
  /**
   * The codec server cannot see a payload's workflow type, so by default a `token.read` grant for any
   * type pattern (`default:token.read:inventory*`) lets its holder read every token payload in the
   * namespace. With this set, only a grant for every type (`<ns>:token.read` or `…:token.read:*`) counts.
   */
  strictTokenRead?: boolean;
}

// Temporal's namespace names; `*` is a permission wildcard, not a namespace a request can name.
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Returns a function from the request's `Authorization` header and namespace to the caller's access.
 * Throws CodecServerError `unauthenticated` (no or invalid token: `reason` names the failed check),
 * `jwks_unavailable` (the issuer's keys cannot be fetched) or `invalid_request` (a bad namespace).
 */
export function createAccessCheck(
  options: CodecAccessOptions,
): (authorization: string | undefined, namespace: string) => Promise<CodecAccess> {
  const verify = createJwtVerifier(options);
  const strict = options.strictTokenRead ?? false;
  return async (authorization, namespace) => {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (!token) {
      throw new CodecServerError(
        'codec_server.unauthenticated',
        'send Authorization: Bearer <jwt> (temporal CLI: --codec-auth "Bearer <jwt>")',
        { reason: 'missing_token' },
      );
    }
    const claims = await verify(token);
    if (!NAMESPACE.test(namespace)) {
      throw new CodecServerError('codec_server.invalid_request', 'X-Namespace is not a namespace name');
    }
    const values = Array.isArray(claims.permissions) ? claims.permissions : [];
    const permissions = new Permissions(values);
    const role = permissions.role(namespace);
    return {
      subject: typeof claims.sub === 'string' ? claims.sub : undefined,
      namespace,
      decode: role === 'read' || role === 'write' || role === 'admin',
      encode: role === 'write' || role === 'admin' || hasGrant(values, namespace, 'token.rotate', false),
      readTokens: hasGrant(values, namespace, 'token.read', strict),
    };
  };
}

/**
 * Whether any grant for `action` applies in `namespace`, whatever its workflow-type pattern
 * (`Permissions.allows` answers for one type; the codec server does not know the type). With
 * `everyType`, only a grant whose pattern is `*` counts.
 */
function hasGrant(values: readonly unknown[], namespace: string, action: GrantAction, everyType: boolean) {
  return values.some((value) => {
    const p = typeof value === 'string' ? parsePermission(value) : undefined;
    return (
      p?.kind === 'grant' &&
      p.action === action &&
      (p.namespace === '*' || p.namespace === namespace) &&
      (!everyType || p.pattern === '*')
    );
  });
}
