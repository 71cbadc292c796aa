import { timingSafeEqual } from 'node:crypto';
import type { Application } from './applications.js';
import { IssuerConfigError } from './errors.js';
import { isPermission } from './permissions.js';

/**
 * A credential for the very first setup, before any application exists: given to the issuer through
 * the environment, never written to disk, optionally with an expiry after which it is refused.
 */
export interface BootstrapCredential {
  clientId: string;
  clientSecret: string;
  /** Refused from this moment on; undefined means no expiry. */
  expiresAt: Date | undefined;
  /** Permissions its tokens carry. Default `temporal-system:admin`. */
  permissions: string[];
}

/** The application id (token `sub`) of bootstrap tokens. */
export const BOOTSTRAP_APP_ID = 'bootstrap-admin';

/**
 * Reads `TOKENRELAY_BOOTSTRAP_CLIENT_ID`, `_SECRET`, optional `_EXPIRES_AT` (ISO 8601) and optional
 * `_PERMISSIONS` (space-separated). Undefined when no id is set; an incomplete or invalid set is an
 * error naming the variable, so a typo does not silently leave the issuer without its admin.
 */
export function bootstrapCredentialFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): BootstrapCredential | undefined {
  const clientId = env.TOKENRELAY_BOOTSTRAP_CLIENT_ID;
  const clientSecret = env.TOKENRELAY_BOOTSTRAP_CLIENT_SECRET;
  if (!clientId && !clientSecret) return undefined;
  if (!clientId)
    throw new IssuerConfigError('TOKENRELAY_BOOTSTRAP_CLIENT_ID is required with _CLIENT_SECRET');
  if (!clientSecret || clientSecret.length < 16) {
    throw new IssuerConfigError('TOKENRELAY_BOOTSTRAP_CLIENT_SECRET must be set and at least 16 characters');
  }
  const expiresText = env.TOKENRELAY_BOOTSTRAP_EXPIRES_AT;
  const expiresAt = expiresText ? new Date(expiresText) : undefined;
  if (expiresAt && Number.isNaN(expiresAt.getTime())) {
    throw new IssuerConfigError(`TOKENRELAY_BOOTSTRAP_EXPIRES_AT="${expiresText}" is not an ISO 8601 time`);
  }
  const permissions = (env.TOKENRELAY_BOOTSTRAP_PERMISSIONS ?? 'temporal-system:admin')
    .split(/\s+/)
    .filter(Boolean);
  if (permissions.length === 0 || !permissions.every(isPermission)) {
    throw new IssuerConfigError(
      'TOKENRELAY_BOOTSTRAP_PERMISSIONS must list "<namespace>:<role>" or "<namespace>:<grant>[:<pattern>]" entries',
    );
  }
  return { clientId, clientSecret, expiresAt, permissions };
}

export type BootstrapCheck =
  | { ok: true; app: Application }
  | { ok: false; reason: 'bootstrap_expired' | 'bad_secret' }
  | undefined;

/** Undefined when `clientId` is not the bootstrap id (the caller then asks the application store). */
export function checkBootstrapCredential(
  credential: BootstrapCredential | undefined,
  clientId: string,
  secret: string,
  nowMs: number,
): BootstrapCheck {
  if (!credential || clientId !== credential.clientId) return undefined;
  const expected = Buffer.from(credential.clientSecret);
  const actual = Buffer.from(secret);
  if (!(expected.length === actual.length && timingSafeEqual(expected, actual))) {
    return { ok: false, reason: 'bad_secret' };
  }
  if (credential.expiresAt && nowMs >= credential.expiresAt.getTime())
    return { ok: false, reason: 'bootstrap_expired' };
  return { ok: true, app: { id: BOOTSTRAP_APP_ID, permissions: credential.permissions, keys: [] } };
}
