import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonFileAtomic } from '../json-file.js';
import { checkOperatorText, osActor } from './admin-actor.js';
import {
  type AccessKey,
  type AccessKeyStatus,
  type Application,
  type ApplicationsFile,
  parseApplicationsFile,
} from './applications.js';
import type { AuditEvent, AuditSink, FieldChange } from './audit-log.js';
import { BOOTSTRAP_APP_ID } from './bootstrap-credential.js';
import { IssuerStateError } from './errors.js';
import { type FileLockOptions, withFileLock } from './file-lock.js';
import { permissionProblem } from './permissions.js';
import { generateKeyId, generateSecret, hashSecret } from './secrets.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './token-lifetimes.js';

/** Where the applications live, who acts on them, and who hears about changes. */
export interface ApplicationAdminOptions {
  /** The issuer's `applications.json`; created on the first write. */
  applicationsPath: string;
  /** Receives `app_created`, `key_paused`, ... after each change is on disk. */
  audit?: AuditSink;
  /**
   * Who acts, recorded with every change: default the OS account running this process
   * (`os:<name> (uid <n>)`); a service acting for an authenticated admin passes e.g. `credential:<keyId>`.
   */
  actor?: string;
  /**
   * The issuer's `maxTokenLifetimeSeconds`: a longer application lifetime is refused. Default 86 400.
   */
  maxTokenLifetimeSeconds?: number;
  /** Cross-process lock tuning. */
  lock?: FileLockOptions;
  /** Clock for timestamps and key expiry. Default `Date.now`. */
  now?: () => number;
}

/** Why an operator made a change; recorded in the audit log (and on the key for status changes). */
export interface ChangeDetails {
  reason?: string;
}

/** An access key as operators see it: everything but the secret hash. */
export interface AccessKeyView {
  id: string;
  status: AccessKeyStatus;
  createdAt: string;
  updatedAt?: string;
  description?: string;
  /** When the key stops being accepted; absent: never. */
  expiresAt?: string;
  /** True once `expiresAt` has passed: the key is refused though its status may still be `active`. */
  expired?: boolean;
  /** The `--reason` of the last status change. */
  statusReason?: string;
}

export interface ApplicationView {
  id: string;
  permissions: string[];
  tokenLifetimeSeconds?: number;
  audience?: string;
  description?: string;
  createdAt?: string;
  updatedAt?: string;
  keys: AccessKeyView[];
}

/** A new access key. `secret` exists only here: the store keeps a hash. Show it once. */
export interface CreatedAccessKey {
  appId: string;
  keyId: string;
  secret: string;
  expiresAt?: string;
}

export interface NewAccessKey extends ChangeDetails {
  description?: string;
  /** The key is refused this many seconds after creation. Default: no expiry. */
  expiresInSeconds?: number;
}

export interface NewApplication {
  /** Becomes the token's `sub`: letters, digits, `.`, `_`, `-`, up to 64 characters. */
  id: string;
  /** `<namespace>:<role>` entries (`default:write`, `temporal-system:admin`, ...). */
  permissions: string[];
  /** At most the issuer's `maxTokenLifetimeSeconds`. */
  tokenLifetimeSeconds?: number;
  /** `aud` of this application's tokens when they are for another API than Temporal. */
  audience?: string;
  description?: string;
  /** Expiry of the first access key, in seconds from now. Default: no expiry. */
  keyExpiresInSeconds?: number;
}

/**
 * What `app update` changes. An omitted field stays as it is; `null` returns a field to the issuer's
 * default (lifetime, audience) or removes it (description).
 */
export interface ApplicationUpdate {
  permissions?: string[];
  tokenLifetimeSeconds?: number | null;
  audience?: string | null;
  description?: string | null;
}

const appIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Creates an application with one active access key.
 *
 * @example
 * const { key } = await createApplication({ applicationsPath }, { id: 'billing-worker', permissions: ['billing:write'] });
 * // key.secret is shown to the operator once and never stored
 */
export async function createApplication(
  options: ApplicationAdminOptions,
  app: NewApplication,
  details: ChangeDetails = {},
): Promise<{ application: ApplicationView; key: CreatedAccessKey }> {
  validateId(app.id);
  const permissions = validPermissions(app.permissions);
  validateLifetime(app.tokenLifetimeSeconds, options);
  validateAudience(app.audience);
  const description = checkOperatorText(app.description, 'description');
  const reason = checkOperatorText(details.reason, 'reason');
  const keyExpiry = expiryOf(app.keyExpiresInSeconds, options);
  const secret = generateSecret();
  const keyId = generateKeyId();
  const created = await edit(options, (file) => {
    if (file.applications.some((a) => a.id === app.id)) {
      throw new IssuerStateError('issuer.app_exists', `application "${app.id}" already exists`);
    }
    const now = isoNow(options);
    const stored: Application = {
      id: app.id,
      permissions,
      ...(app.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: app.tokenLifetimeSeconds } : {}),
      ...(app.audience !== undefined ? { audience: app.audience } : {}),
      ...(description ? { description } : {}),
      createdAt: now,
      keys: [
        {
          id: keyId,
          secretHash: hashSecret(secret),
          status: 'active',
          createdAt: now,
          ...(keyExpiry ? { expiresAt: keyExpiry } : {}),
        },
      ],
    };
    file.applications.push(stored);
    return stored;
  });
  await record(options, reason, {
    event: 'app_created',
    app: app.id,
    permissions,
    ...(app.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: app.tokenLifetimeSeconds } : {}),
    ...(app.audience !== undefined ? { audience: app.audience } : {}),
  });
  await record(options, reason, {
    event: 'key_created',
    app: app.id,
    keyId,
    ...(keyExpiry ? { expiresAt: keyExpiry } : {}),
  });
  return {
    application: viewOf(created, now(options)),
    key: { appId: app.id, keyId, secret, ...(keyExpiry ? { expiresAt: keyExpiry } : {}) },
  };
}

/**
 * Changes an application's permissions, token lifetime, audience or description, validated like
 * {@link createApplication}. Tokens already issued keep what they were issued with until they expire.
 */
export async function updateApplication(
  options: ApplicationAdminOptions,
  appId: string,
  update: ApplicationUpdate,
  details: ChangeDetails = {},
): Promise<ApplicationView> {
  const permissions = update.permissions === undefined ? undefined : validPermissions(update.permissions);
  if (update.tokenLifetimeSeconds !== null) validateLifetime(update.tokenLifetimeSeconds, options);
  if (update.audience !== null) validateAudience(update.audience);
  const description =
    update.description === null ? null : checkOperatorText(update.description, 'description');
  const reason = checkOperatorText(details.reason, 'reason');
  if (
    permissions === undefined &&
    update.tokenLifetimeSeconds === undefined &&
    update.audience === undefined &&
    update.description === undefined
  ) {
    throw new IssuerStateError('issuer.invalid_argument', 'nothing to update: name at least one field');
  }
  const { app, changes } = await edit(options, (file) => {
    const app = file.applications.find((a) => a.id === appId);
    if (!app) throw notFound(appId);
    const changes: Extract<AuditEvent, { event: 'app_updated' }>['changes'] = {};
    if (permissions !== undefined && permissions.join('\n') !== app.permissions.join('\n')) {
      changes.permissions = { from: app.permissions, to: permissions };
      app.permissions = permissions;
    }
    const set = <K extends 'tokenLifetimeSeconds' | 'audience' | 'description'>(
      field: K,
      value: Application[K] | null | undefined,
    ) => {
      if (value === undefined || value === app[field] || (value === null && app[field] === undefined)) return;
      (changes as Record<string, FieldChange<unknown>>)[field] = {
        ...(app[field] !== undefined ? { from: app[field] } : {}),
        ...(value !== null ? { to: value } : {}),
      };
      if (value === null) delete app[field];
      else app[field] = value;
    };
    set('tokenLifetimeSeconds', update.tokenLifetimeSeconds);
    set('audience', update.audience);
    set('description', description);
    if (Object.keys(changes).length > 0) app.updatedAt = isoNow(options);
    return { app, changes };
  });
  if (Object.keys(changes).length > 0) {
    await record(options, reason, { event: 'app_updated', app: appId, changes });
  }
  return viewOf(app, now(options));
}

export async function listApplications(options: ApplicationAdminOptions): Promise<ApplicationView[]> {
  const at = now(options);
  return (await readApplications(options.applicationsPath)).applications.map((app) => viewOf(app, at));
}

export async function getApplication(
  options: ApplicationAdminOptions,
  appId: string,
): Promise<ApplicationView> {
  const app = (await readApplications(options.applicationsPath)).applications.find((a) => a.id === appId);
  if (!app) throw notFound(appId);
  return viewOf(app, now(options));
}

/** Deletes an application and all its keys; its tokens stay valid until they expire. */
export async function deleteApplication(
  options: ApplicationAdminOptions,
  appId: string,
  details: ChangeDetails = {},
): Promise<void> {
  const reason = checkOperatorText(details.reason, 'reason');
  await edit(options, (file) => {
    const index = file.applications.findIndex((a) => a.id === appId);
    if (index < 0) throw notFound(appId);
    file.applications.splice(index, 1);
  });
  await record(options, reason, { event: 'app_deleted', app: appId });
}

/** Adds an active access key to an application; the returned secret is the only copy. */
export async function createAccessKey(
  options: ApplicationAdminOptions,
  appId: string,
  details: NewAccessKey = {},
): Promise<CreatedAccessKey> {
  const description = checkOperatorText(details.description, 'description');
  const reason = checkOperatorText(details.reason, 'reason');
  const expiresAt = expiryOf(details.expiresInSeconds, options);
  const secret = generateSecret();
  const keyId = generateKeyId();
  await edit(options, (file) => {
    const app = file.applications.find((a) => a.id === appId);
    if (!app) throw notFound(appId);
    app.keys.push({
      id: keyId,
      secretHash: hashSecret(secret),
      status: 'active',
      createdAt: isoNow(options),
      ...(description ? { description } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    });
  });
  await record(options, reason, {
    event: 'key_created',
    app: appId,
    keyId,
    ...(expiresAt ? { expiresAt } : {}),
  });
  return { appId, keyId, secret, ...(expiresAt ? { expiresAt } : {}) };
}

/** Refuses the key at once (`invalid_client`) until {@link resumeAccessKey}. */
export function pauseAccessKey(
  options: ApplicationAdminOptions,
  keyId: string,
  details: ChangeDetails = {},
): Promise<AccessKeyView> {
  return setKeyStatus(options, keyId, 'paused', details);
}

/** Accepts a paused key again. A revoked key cannot be resumed. */
export function resumeAccessKey(
  options: ApplicationAdminOptions,
  keyId: string,
  details: ChangeDetails = {},
): Promise<AccessKeyView> {
  return setKeyStatus(options, keyId, 'active', details);
}

/** Refuses the key for good; it stays listed for the record until {@link deleteAccessKey}. */
export function revokeAccessKey(
  options: ApplicationAdminOptions,
  keyId: string,
  details: ChangeDetails = {},
): Promise<AccessKeyView> {
  return setKeyStatus(options, keyId, 'revoked', details);
}

/**
 * Removes a revoked key from its application. Active and paused keys are refused
 * (`issuer.key_not_revoked`): revoking first records when and why the key stopped working, and the
 * audit log keeps that record after the key is gone.
 */
export async function deleteAccessKey(
  options: ApplicationAdminOptions,
  keyId: string,
  details: ChangeDetails = {},
): Promise<AccessKeyView> {
  const reason = checkOperatorText(details.reason, 'reason');
  const { app, key } = await edit(options, (file) => {
    for (const app of file.applications) {
      const index = app.keys.findIndex((k) => k.id === keyId);
      if (index < 0) continue;
      const key = app.keys[index] as AccessKey;
      if (key.status !== 'revoked') {
        throw new IssuerStateError(
          'issuer.key_not_revoked',
          `access key ${keyId} is ${key.status}; revoke it before deleting it`,
        );
      }
      app.keys.splice(index, 1);
      return { app, key };
    }
    throw new IssuerStateError('issuer.key_not_found', `no access key ${keyId}`);
  });
  await record(options, reason, { event: 'key_deleted', app: app.id, keyId });
  return keyView(key, now(options));
}

const auditEventOf = { paused: 'key_paused', active: 'key_resumed', revoked: 'key_revoked' } as const;

async function setKeyStatus(
  options: ApplicationAdminOptions,
  keyId: string,
  status: AccessKeyStatus,
  details: ChangeDetails,
): Promise<AccessKeyView> {
  const reason = checkOperatorText(details.reason, 'reason');
  const { app, key } = await edit(options, (file) => {
    for (const app of file.applications) {
      const key = app.keys.find((k) => k.id === keyId);
      if (!key) continue;
      if (key.status === 'revoked' && status !== 'revoked') {
        throw new IssuerStateError('issuer.key_revoked', `access key ${keyId} is revoked; create a new one`);
      }
      key.status = status;
      key.updatedAt = isoNow(options);
      if (reason) key.statusReason = reason;
      else delete key.statusReason;
      return { app, key };
    }
    throw new IssuerStateError('issuer.key_not_found', `no access key ${keyId}`);
  });
  await record(options, reason, { event: auditEventOf[status], app: app.id, keyId });
  return keyView(key, now(options));
}

type AdminEvent = Extract<AuditEvent, { actor: string }>;
type WithoutActor<E> = E extends AdminEvent ? Omit<E, 'actor' | 'reason'> : never;

/** Audits an admin change with its actor and reason. */
async function record(
  options: ApplicationAdminOptions,
  reason: string | undefined,
  event: WithoutActor<AdminEvent>,
): Promise<void> {
  const actor = checkOperatorText(options.actor, 'actor') ?? osActor();
  await options.audit?.({ ...event, actor, ...(reason ? { reason } : {}) } as AuditEvent);
}

/**
 * Read-modify-write under the cross-process lock, written atomically: concurrent CLI processes each
 * see the previous one's change, and the issuer never reads half a file.
 */
async function edit<T>(options: ApplicationAdminOptions, change: (file: ApplicationsFile) => T): Promise<T> {
  await mkdir(dirname(options.applicationsPath), { recursive: true, mode: 0o700 });
  return withFileLock(
    options.applicationsPath,
    async () => {
      const file = await readApplications(options.applicationsPath);
      const result = change(file);
      await writeJsonFileAtomic(options.applicationsPath, file);
      return result;
    },
    options.lock,
  );
}

async function readApplications(path: string): Promise<ApplicationsFile> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new IssuerStateError('issuer.state_unreadable', `cannot read ${path}`, { cause: err });
  });
  return text === undefined ? { applications: [] } : parseApplicationsFile(text, path);
}

function validateId(id: string): void {
  if (typeof id !== 'string' || !appIdPattern.test(id) || id === BOOTSTRAP_APP_ID) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      `application id must be letters, digits, ".", "_" or "-" (up to 64) and not "${BOOTSTRAP_APP_ID}"`,
    );
  }
}

/** Valid permissions, each once (a repeated entry would be repeated in every token). */
function validPermissions(permissions: unknown): string[] {
  if (!Array.isArray(permissions) || permissions.length === 0) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      'permissions must be one or more "<namespace>:<role>" or "<namespace>:<grant>[:<pattern>]" strings',
    );
  }
  const problem = permissions.map(permissionProblem).find(Boolean);
  if (problem) throw new IssuerStateError('issuer.invalid_argument', problem);
  return [...new Set(permissions as string[])];
}

function validateLifetime(lifetime: number | undefined, options: ApplicationAdminOptions): void {
  if (lifetime === undefined) return;
  if (!(Number.isInteger(lifetime) && lifetime > 0)) {
    throw new IssuerStateError('issuer.invalid_argument', 'tokenLifetimeSeconds must be a positive integer');
  }
  const max = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (lifetime > max) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      `tokenLifetimeSeconds ${lifetime} exceeds the issuer's maxTokenLifetimeSeconds (${max})`,
    );
  }
}

function validateAudience(audience: string | undefined): void {
  if (audience !== undefined && (typeof audience !== 'string' || audience.trim() === '')) {
    throw new IssuerStateError('issuer.invalid_argument', 'audience must be a non-empty string');
  }
}

const maxKeyExpirySeconds = 10 * 365 * 86_400;

function expiryOf(seconds: number | undefined, options: ApplicationAdminOptions): string | undefined {
  if (seconds === undefined) return undefined;
  if (!(Number.isInteger(seconds) && seconds > 0 && seconds <= maxKeyExpirySeconds)) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      'a key expiry must be a whole number of seconds from 1 to ten years',
    );
  }
  return new Date(now(options) + seconds * 1000).toISOString();
}

function notFound(appId: string): IssuerStateError {
  return new IssuerStateError('issuer.app_not_found', `no application "${appId}"`);
}

const now = (options: ApplicationAdminOptions) => (options.now ?? Date.now)();
const isoNow = (options: ApplicationAdminOptions) => new Date(now(options)).toISOString();

function viewOf(app: Application, at: number): ApplicationView {
  return {
    id: app.id,
    permissions: app.permissions,
    ...(app.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: app.tokenLifetimeSeconds } : {}),
    ...(app.audience !== undefined ? { audience: app.audience } : {}),
    ...(app.description ? { description: app.description } : {}),
    ...(app.createdAt ? { createdAt: app.createdAt } : {}),
    ...(app.updatedAt ? { updatedAt: app.updatedAt } : {}),
    keys: app.keys.map((key) => keyView(key, at)),
  };
}

function keyView(key: AccessKey, at: number): AccessKeyView {
  return {
    id: key.id,
    status: key.status,
    createdAt: key.createdAt,
    ...(key.updatedAt ? { updatedAt: key.updatedAt } : {}),
    ...(key.description ? { description: key.description } : {}),
    ...(key.expiresAt ? { expiresAt: key.expiresAt, expired: !(at < Date.parse(key.expiresAt)) } : {}),
    ...(key.statusReason ? { statusReason: key.statusReason } : {}),
  };
}
