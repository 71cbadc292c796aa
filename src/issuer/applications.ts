import { readFile, stat } from 'node:fs/promises';
import { writeJsonFileAtomic } from '../json-file.js';
import { IssuerConfigError } from './errors.js';
import { isPermission } from './permissions.js';
import { verifySecret } from './secrets.js';

export type AccessKeyStatus = 'active' | 'paused' | 'revoked';

export interface AccessKey {
  /** Public key id, used as the OAuth2 `client_id` and as `keyId` on `POST /api/token`. */
  id: string;
  /** `sha256$salt$digest`; the secret itself is never stored. */
  secretHash: string;
  status: AccessKeyStatus;
  createdAt: string;
}

export interface Application {
  /** Becomes the token's `sub`. */
  id: string;
  /** `<namespace>:<role>` entries, copied into the token's `permissions` claim. */
  permissions: string[];
  /** Overrides the issuer's default token lifetime for this application. */
  tokenLifetimeSeconds?: number;
  keys: AccessKey[];
}

export interface ApplicationsFile {
  applications: Application[];
}

/**
 * Applications and their access keys in one JSON file. Reads are cached by modification time so an
 * edit by another process (the CLI) takes effect on the next request without a restart; writes go to
 * a temporary file renamed into place so a reader never sees half a file.
 */
export class ApplicationStore {
  readonly path: string;
  private cache: { mtimeMs: number; size: number; apps: Application[] } | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async list(): Promise<Application[]> {
    const info = await stat(this.path).catch((cause: unknown) => {
      throw new IssuerConfigError(`cannot read applications file ${this.path}`, { cause });
    });
    if (this.cache && this.cache.mtimeMs === info.mtimeMs && this.cache.size === info.size)
      return this.cache.apps;
    const apps = parseApplicationsFile(await readFile(this.path, 'utf8'), this.path).applications;
    this.cache = { mtimeMs: info.mtimeMs, size: info.size, apps };
    return apps;
  }

  /**
   * The application owning an active key with this id and secret, or undefined. Callers answer every
   * undefined the same way, so a caller cannot learn whether the id or the secret was wrong.
   */
  async authenticate(keyId: string, secret: string): Promise<Application | undefined> {
    for (const app of await this.list()) {
      const key = app.keys.find((k) => k.id === keyId);
      if (!key) continue;
      const matches = verifySecret(secret, key.secretHash);
      return matches && key.status === 'active' ? app : undefined;
    }
    return undefined;
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
  if (!Array.isArray(app.permissions) || !app.permissions.every(isPermission)) {
    throw new IssuerConfigError(
      `${where}.permissions must be a list of "<namespace>:<read|write|worker|admin>"`,
    );
  }
  if (
    app.tokenLifetimeSeconds !== undefined &&
    !(Number.isInteger(app.tokenLifetimeSeconds) && app.tokenLifetimeSeconds > 0)
  ) {
    throw new IssuerConfigError(`${where}.tokenLifetimeSeconds must be a positive integer`);
  }
  if (!Array.isArray(app.keys)) throw new IssuerConfigError(`${where}.keys must be a list`);
  for (const [i, key] of app.keys.entries()) {
    const ok =
      typeof key?.id === 'string' &&
      typeof key.secretHash === 'string' &&
      ['active', 'paused', 'revoked'].includes(key.status);
    if (!ok) throw new IssuerConfigError(`${where}.keys[${i}] needs id, secretHash and status`);
  }
}
