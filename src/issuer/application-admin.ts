import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonFileAtomic } from '../json-file.js';
import {
  type AccessKey,
  type AccessKeyStatus,
  type Application,
  type ApplicationsFile,
  parseApplicationsFile,
} from './applications.js';
import type { AuditSink } from './audit-log.js';
import { BOOTSTRAP_APP_ID } from './bootstrap-credential.js';
import { IssuerStateError } from './errors.js';
import { type FileLockOptions, withFileLock } from './file-lock.js';
import { permissionProblem } from './permissions.js';
import { generateKeyId, generateSecret, hashSecret } from './secrets.js';

/** Where the applications live, and who hears about changes. */
export interface ApplicationAdminOptions {
  /** The issuer's `applications.json`; created on the first write. */
  applicationsPath: string;
  /** Receives `app_created`, `key_paused`, ... after each change is on disk. */
  audit?: AuditSink;
  /** Cross-process lock tuning. */
  lock?: FileLockOptions;
}

/** An access key as operators see it: everything but the secret hash. */
export interface AccessKeyView {
  id: string;
  status: AccessKeyStatus;
  createdAt: string;
  updatedAt?: string;
  description?: string;
}

export interface ApplicationView {
  id: string;
  permissions: string[];
  tokenLifetimeSeconds?: number;
  audience?: string;
  description?: string;
  createdAt?: string;
  keys: AccessKeyView[];
}

/** A new access key. `secret` exists only here: the store keeps a hash. Show it once. */
export interface CreatedAccessKey {
  appId: string;
  keyId: string;
  secret: string;
}

export interface NewApplication {
  /** Becomes the token's `sub`: letters, digits, `.`, `_`, `-`, up to 64 characters. */
  id: string;
  /** `<namespace>:<role>` entries (`default:write`, `temporal-system:admin`, ...). */
  permissions: string[];
  tokenLifetimeSeconds?: number;
  /** `aud` of this application's tokens when they are for another API than Temporal. */
  audience?: string;
  description?: string;
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
): Promise<{ application: ApplicationView; key: CreatedAccessKey }> {
  validateNewApplication(app);
  const secret = generateSecret();
  const keyId = generateKeyId();
  const created = await edit(options, (file) => {
    if (file.applications.some((a) => a.id === app.id)) {
      throw new IssuerStateError('issuer.app_exists', `application "${app.id}" already exists`);
    }
    const now = new Date().toISOString();
    const stored: Application = {
      id: app.id,
      permissions: [...app.permissions],
      ...(app.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: app.tokenLifetimeSeconds } : {}),
      ...(app.audience !== undefined ? { audience: app.audience } : {}),
      ...(app.description ? { description: app.description } : {}),
      createdAt: now,
      keys: [{ id: keyId, secretHash: hashSecret(secret), status: 'active', createdAt: now }],
    };
    file.applications.push(stored);
    return stored;
  });
  await options.audit?.({ event: 'app_created', app: app.id, permissions: app.permissions });
  await options.audit?.({ event: 'key_created', app: app.id, keyId });
  return { application: viewOf(created), key: { appId: app.id, keyId, secret } };
}

export async function listApplications(options: ApplicationAdminOptions): Promise<ApplicationView[]> {
  return (await readApplications(options.applicationsPath)).applications.map(viewOf);
}

export async function getApplication(
  options: ApplicationAdminOptions,
  appId: string,
): Promise<ApplicationView> {
  const app = (await readApplications(options.applicationsPath)).applications.find((a) => a.id === appId);
  if (!app) throw notFound(appId);
  return viewOf(app);
}

/** Deletes an application and all its keys; its tokens stay valid until they expire. */
export async function deleteApplication(options: ApplicationAdminOptions, appId: string): Promise<void> {
  await edit(options, (file) => {
    const index = file.applications.findIndex((a) => a.id === appId);
    if (index < 0) throw notFound(appId);
    file.applications.splice(index, 1);
  });
  await options.audit?.({ event: 'app_deleted', app: appId });
}

/** Adds an active access key to an application; the returned secret is the only copy. */
export async function createAccessKey(
  options: ApplicationAdminOptions,
  appId: string,
  details: { description?: string } = {},
): Promise<CreatedAccessKey> {
  const secret = generateSecret();
  const keyId = generateKeyId();
  await edit(options, (file) => {
    const app = file.applications.find((a) => a.id === appId);
    if (!app) throw notFound(appId);
    app.keys.push({
      id: keyId,
      secretHash: hashSecret(secret),
      status: 'active',
      createdAt: new Date().toISOString(),
      ...(details.description ? { description: details.description } : {}),
    });
  });
  await options.audit?.({ event: 'key_created', app: appId, keyId });
  return { appId, keyId, secret };
}

/** Refuses the key at once (`invalid_client`) until {@link resumeAccessKey}. */
export function pauseAccessKey(options: ApplicationAdminOptions, keyId: string): Promise<AccessKeyView> {
  return setKeyStatus(options, keyId, 'paused');
}

/** Accepts a paused key again. A revoked key cannot be resumed. */
export function resumeAccessKey(options: ApplicationAdminOptions, keyId: string): Promise<AccessKeyView> {
  return setKeyStatus(options, keyId, 'active');
}

/** Refuses the key for good; it stays listed for the record. */
export function revokeAccessKey(options: ApplicationAdminOptions, keyId: string): Promise<AccessKeyView> {
  return setKeyStatus(options, keyId, 'revoked');
}

const auditEventOf = { paused: 'key_paused', active: 'key_resumed', revoked: 'key_revoked' } as const;

async function setKeyStatus(
  options: ApplicationAdminOptions,
  keyId: string,
  status: AccessKeyStatus,
): Promise<AccessKeyView> {
  const { app, key } = await edit(options, (file) => {
    for (const app of file.applications) {
      const key = app.keys.find((k) => k.id === keyId);
      if (!key) continue;
      if (key.status === 'revoked' && status !== 'revoked') {
        throw new IssuerStateError('issuer.key_revoked', `access key ${keyId} is revoked; create a new one`);
      }
      key.status = status;
      key.updatedAt = new Date().toISOString();
      return { app, key };
    }
    throw new IssuerStateError('issuer.key_not_found', `no access key ${keyId}`);
  });
  await options.audit?.({ event: auditEventOf[status], app: app.id, keyId });
  return keyView(key);
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

function validateNewApplication(app: NewApplication): void {
  if (typeof app.id !== 'string' || !appIdPattern.test(app.id) || app.id === BOOTSTRAP_APP_ID) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      `application id must be letters, digits, ".", "_" or "-" (up to 64) and not "${BOOTSTRAP_APP_ID}"`,
    );
  }
  if (!Array.isArray(app.permissions) || app.permissions.length === 0) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      'permissions must be one or more "<namespace>:<role>" or "<namespace>:<grant>[:<pattern>]" strings',
    );
  }
  const problem = app.permissions.map(permissionProblem).find(Boolean);
  if (problem) throw new IssuerStateError('issuer.invalid_argument', problem);
  if (app.audience !== undefined && (typeof app.audience !== 'string' || app.audience === '')) {
    throw new IssuerStateError('issuer.invalid_argument', 'audience must be a non-empty string');
  }
  const lifetime = app.tokenLifetimeSeconds;
  if (lifetime !== undefined && !(Number.isInteger(lifetime) && lifetime > 0)) {
    throw new IssuerStateError('issuer.invalid_argument', 'tokenLifetimeSeconds must be a positive integer');
  }
}

function notFound(appId: string): IssuerStateError {
  return new IssuerStateError('issuer.app_not_found', `no application "${appId}"`);
}

function viewOf(app: Application): ApplicationView {
  return {
    id: app.id,
    permissions: app.permissions,
    ...(app.tokenLifetimeSeconds !== undefined ? { tokenLifetimeSeconds: app.tokenLifetimeSeconds } : {}),
    ...(app.audience !== undefined ? { audience: app.audience } : {}),
    ...(app.description ? { description: app.description } : {}),
    ...(app.createdAt ? { createdAt: app.createdAt } : {}),
    keys: app.keys.map(keyView),
  };
}

function keyView(key: AccessKey): AccessKeyView {
  return {
    id: key.id,
    status: key.status,
    createdAt: key.createdAt,
    ...(key.updatedAt ? { updatedAt: key.updatedAt } : {}),
    ...(key.description ? { description: key.description } : {}),
  };
}
