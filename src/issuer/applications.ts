import { readFile } from 'node:fs/promises';
import { writeJsonFileAtomic } from '../json-file.js';
import { IssuerConfigError } from './errors.js';
import { fileSignature } from './file-signature.js';
import { permissionProblem } from './permissions.js';
import { hashSecret, verifySecret } from './secrets.js';

export type AccessKeyStatus = 'active' | 'paused' | 'revoked';

export interface AccessKey {
  /** Public key id, used as the OAuth2 `client_id` and as `keyId` on `POST /api/token`. */
  id: string;
  /** `sha256$salt$digest`; the secret itself is never stored. */
  secretHash: string;
  status: AccessKeyStatus;
  createdAt: string;
  /** Free text for operators (who holds the key, where it is deployed). */
  description?: string;
  /** When the status last changed. */
  updatedAt?: string;
  /** Refused from this moment on (ISO 8601), with its own audit reason `key_expired`. Absent: no expiry. */
  expiresAt?: string;
  /** Why the status last changed (`--reason` of pause, resume, revoke). */
  statusReason?: string;
}

export interface Application {
  /** Becomes the token's `sub`. */
  id: string;
  /** `<namespace>:<role>` entries, copied into the token's `permissions` claim. */
  permissions: string[];
  /** Overrides the issuer's default token lifetime for this application. */
  tokenLifetimeSeconds?: number;
  /**
   * Overrides the issuer's `aud` for this application's tokens: for an API other than Temporal, so a
   * token meant for that API is refused by Temporal and the other way round.
   */
  audience?: string;
  keys: AccessKey[];
  createdAt?: string;
  /** When `app update` last changed it. */
  updatedAt?: string;
  description?: string;
}

export interface ApplicationsFile {
  applications: Application[];
}

/** Why an authentication attempt failed; for the audit log and metrics only, never for the client. */
export type AuthenticationFailure =
  | 'unknown_key'
  | 'bad_secret'
  | 'key_paused'
  | 'key_revoked'
  | 'key_expired';

export type AuthenticationResult =
  | { ok: true; app: Application; key: AccessKey }
  | { ok: false; reason: AuthenticationFailure };

// Compared against when the key id is unknown, so an unknown id costs the same hash as a wrong secret
// and response timing does not tell the two apart.
const decoyHash = hashSecret('decoy');

/**
 * Applications and their access keys in one JSON file. Every read checks the file's signature (inode,
 * size, timestamps) and re-reads it when that changed, so an edit by another process (the CLI) takes
 * effect on the next request without a restart — even two edits within one timestamp tick, since each
 * write renames a new file (a new inode) into place, so a reader also never sees half a file.
 */
export class ApplicationStore {
  readonly path: string;
  private cache: { text: string; apps: Application[]; signature: string | undefined } | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async list(): Promise<Application[]> {
    const signature = await fileSignature(this.path);
    if (signature !== undefined && this.cache?.signature === signature) return this.cache.apps;
    const text = await readFile(this.path, 'utf8').catch((cause: unknown) => {
      throw new IssuerConfigError(`cannot read applications file ${this.path}`, { cause });
    });
    if (this.cache?.text === text) {
      this.cache.signature = signature;
      return this.cache.apps;
    }
    const apps = parseApplicationsFile(text, this.path).applications;
    this.cache = { text, apps, signature };
    return apps;
  }

  /**
   * The application owning an active key with this id and secret, or undefined. Callers answer every
   * undefined the same way, so a caller cannot learn whether the id or the secret was wrong.
   */
  async authenticate(
    keyId: string,
    secret: string,
    nowMs: number = Date.now(),
  ): Promise<Application | undefined> {
    const result = await this.check(keyId, secret, nowMs);
    return result.ok ? result.app : undefined;
  }

  /** Like {@link authenticate}, with the failure reason for the audit log (never for the client). */
  async check(keyId: string, secret: string, nowMs: number = Date.now()): Promise<AuthenticationResult> {
    for (const app of await this.list()) {
      const key = app.keys.find((k) => k.id === keyId);
      if (!key) continue;
      if (!verifySecret(secret, key.secretHash)) return { ok: false, reason: 'bad_secret' };
      if (key.status === 'paused') return { ok: false, reason: 'key_paused' };
      if (key.status === 'revoked') return { ok: false, reason: 'key_revoked' };
      if (key.expiresAt !== undefined && !(nowMs < Date.parse(key.expiresAt))) {
        return { ok: false, reason: 'key_expired' };
      }
      return { ok: true, app, key };
    }
    verifySecret(secret, decoyHash);
    return { ok: false, reason: 'unknown_key' };
  }

  async write(file: ApplicationsFile): Promise<void> {
    await writeJsonFileAtomic(this.path, file);
    this.cache = undefined;
  }
}

export function parseApplicationsFile(text: string, source: string): ApplicationsFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new IssuerConfigError(`${source} is not valid JSON`, { cause });
  }
  const apps = (data as { applications?: unknown } | null)?.applications;
  if (!Array.isArray(apps)) throw new IssuerConfigError(`${source}: expected { "applications": [...] }`);
  for (const [index, app] of apps.entries()) validateApplication(app, `${source}: applications[${index}]`);
  return { applications: apps as Application[] };
}

function validateApplication(value: unknown, where: string): void {
  const app = value as Partial<Application> | null;
  if (!app || typeof app.id !== 'string' || app.id === '')
    throw new IssuerConfigError(`${where}.id must be a string`);
  if (!Array.isArray(app.permissions)) {
    throw new IssuerConfigError(`${where}.permissions must be a list of permission strings`);
  }
  const problem = app.permissions.map(permissionProblem).find(Boolean);
  if (problem) throw new IssuerConfigError(`${where}.permissions: ${problem}`);
  if (
    app.tokenLifetimeSeconds !== undefined &&
    !(Number.isInteger(app.tokenLifetimeSeconds) && app.tokenLifetimeSeconds > 0)
  ) {
    throw new IssuerConfigError(`${where}.tokenLifetimeSeconds must be a positive integer`);
  }
  if (app.audience !== undefined && (typeof app.audience !== 'string' || app.audience === '')) {
    throw new IssuerConfigError(`${where}.audience must be a non-empty string`);
  }
  if (!Array.isArray(app.keys)) throw new IssuerConfigError(`${where}.keys must be a list`);
  for (const [i, key] of app.keys.entries()) {
    const ok =
      typeof key?.id === 'string' &&
      typeof key.secretHash === 'string' &&
      ['active', 'paused', 'revoked'].includes(key.status);
    if (!ok) throw new IssuerConfigError(`${where}.keys[${i}] needs id, secretHash and status`);
    if (key.expiresAt !== undefined && Number.isNaN(Date.parse(key.expiresAt))) {
      throw new IssuerConfigError(`${where}.keys[${i}].expiresAt must be an ISO 8601 time`);
    }
  }
}
