import type { Application } from './applications.js';
import { IssuerConfigError } from './errors.js';
import { isPermission } from './permissions.js';
import { hashSecret, verifySecret } from './secrets.js';

/**
 * A credential for the very first setup, before any application exists: given to the issuer through
 * the environment, never written to disk, optionally with an expiry after which it is refused.
 */
export interface BootstrapCredential {
  clientId: string;
  /**
   * The secret's salted hash (secrets.ts format): checked exactly like an access key's, so the
   * bootstrap path costs what an application key costs and timing does not single it out.
   */
  secretHash: string;
  /** Refused from this moment on; undefined means no expiry. */
  expiresAt: Date | undefined;
  /** Permissions its tokens carry. Default `temporal-system:admin`. */
  permissions: string[];
}

/** The application id (token `sub`) of bootstrap tokens. */
export const BOOTSTRAP_APP_ID = 'bootstrap-admin';

/** Shortest accepted bootstrap secret, and the least estimated strength (see {@link secretStrengthBits}). */
export const BOOTSTRAP_MIN_LENGTH = 32;
export const BOOTSTRAP_MIN_BITS = 128;

/**
 * A pessimistic strength estimate of a person-chosen secret: its length times the Shannon entropy of
 * its own character frequencies. `aaaa…` scores 0 whatever its length; 32 random bytes as base64 score
 * about 220; as hex about 250. A floor against weak choices, not a proof of randomness.
 */
export function secretStrengthBits(secret: string): number {
  const chars = [...secret];
  const counts = new Map<string, number>();
  for (const ch of chars) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const count of counts.values()) {
    const p = count / chars.length;
    perChar -= p * Math.log2(p);
  }
  return chars.length * perChar;
}

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
  if (
    !clientSecret ||
    [...clientSecret].length < BOOTSTRAP_MIN_LENGTH ||
    secretStrengthBits(clientSecret) < BOOTSTRAP_MIN_BITS
  ) {
    throw new IssuerConfigError(
      `TOKENRELAY_BOOTSTRAP_CLIENT_SECRET must be at least ${BOOTSTRAP_MIN_LENGTH} characters of random text ` +
        `(about ${BOOTSTRAP_MIN_BITS} bits or more; repeated or patterned text is refused): generate one with ` +
        '`openssl rand -base64 32`',
    );
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
  return { clientId, secretHash: hashSecret(clientSecret), expiresAt, permissions };
}

export type BootstrapCheck =
  | { ok: true; app: Application }
  | { ok: false; reason: 'bootstrap_expired' | 'bad_secret' }
  | undefined;

/**
 * Undefined when `clientId` is not the bootstrap id (the caller then uses the application store's
 * answer). The secret is hashed and compared whatever the id, so the caller, which also always asks
 * the store, spends the same work on every request.
 */
export function checkBootstrapCredential(
  credential: BootstrapCredential | undefined,
  clientId: string,
  secret: string,
  nowMs: number,
): BootstrapCheck {
  if (!credential) return undefined;
  const secretOk = verifySecret(secret, credential.secretHash);
  if (clientId !== credential.clientId) return undefined;
  if (!secretOk) return { ok: false, reason: 'bad_secret' };
  if (credential.expiresAt && nowMs >= credential.expiresAt.getTime())
    return { ok: false, reason: 'bootstrap_expired' };
  return { ok: true, app: { id: BOOTSTRAP_APP_ID, permissions: credential.permissions, keys: [] } };
}
