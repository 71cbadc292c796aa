import { rename } from 'node:fs/promises';
import {
  type ApplicationAdminOptions,
  type ApplicationView,
  createApplication,
  deleteApplication,
  listApplications,
} from '../issuer/application-admin.js';
import { AuditLog } from '../issuer/audit-log.js';
import { REFERENCE_ROOT_TYPE, REFERENCE_TASK_QUEUE, REFERENCE_WORKFLOW_TYPES } from '../reference/names.js';
import { DEFAULT_ROTATION_TASK_QUEUE } from '../stateful/rotation/types.js';
import type { DevAppName, DevConfig } from './dev-config.js';
import { DEMO_API_AUDIENCE, DEV_NAMESPACE } from './dev-names.js';
import type { DevLayout } from './layout.js';

/**
 * The dev stack's applications, each with least privilege for one job (docs/architecture.md lists
 * what each grant allows). Only `developer` may do everything in the namespace, for tests and tools
 * that run arbitrary workflows.
 */
export const devApplicationPermissions: Readonly<Record<DevAppName, readonly string[]>> = {
  // The reference worker: its task queue, its workflow types, the raw token for its activities, and
  // relaying its workflows' handoffs to their children.
  worker: [
    `${DEV_NAMESPACE}:taskqueue.poll:${REFERENCE_TASK_QUEUE}`,
    `${DEV_NAMESPACE}:workflow.start:${REFERENCE_ROOT_TYPE}`,
    ...REFERENCE_WORKFLOW_TYPES.map((type) => `${DEV_NAMESPACE}:token.read:${type}`),
    ...REFERENCE_WORKFLOW_TYPES.map((type) => `${DEV_NAMESPACE}:token.handoff:${type}`),
  ],
  developer: [
    `${DEV_NAMESPACE}:write`,
    `${DEV_NAMESPACE}:token.read`,
    `${DEV_NAMESPACE}:token.rotate`,
    `${DEV_NAMESPACE}:token.handoff`,
  ],
  // May hand a tree a new token and watch it spread; may not start workflows or read raw tokens.
  rotator: [`${DEV_NAMESPACE}:read`, `${DEV_NAMESPACE}:token.rotate`],
  // The built-in rotator's worker: polls its own queue, finds targets and walks their trees (read),
  // signals new tokens (token.rotate); never reads one, starts nothing.
  rotationWorker: [
    `${DEV_NAMESPACE}:read`,
    `${DEV_NAMESPACE}:token.rotate`,
    `${DEV_NAMESPACE}:taskqueue.poll:${DEFAULT_ROTATION_TASK_QUEUE}`,
  ],
  admin: ['temporal-system:admin'],
  reader: [`${DEV_NAMESPACE}:read`],
  outsider: ['elsewhere:write'],
  // Namespace "demo-api" does not exist in Temporal; with its own audience the token is useless there.
  apiClient: ['demo-api:read'],
};

const devApplicationAudience: Partial<Record<DevAppName, string>> = { apiClient: DEMO_API_AUDIENCE };

export const devApplicationNames = Object.keys(devApplicationPermissions) as DevAppName[];

/** Whether a dev.json names credentials for every dev application (one from an older tokenrelay may not). */
export function namesEveryDevApplication(config: Pick<DevConfig, 'apps'>): boolean {
  return devApplicationNames.every((name) => config.apps?.[name] !== undefined);
}

/**
 * Keeps the dev applications (and so the credentials in dev.json) when dev.json and the issuer's
 * applications file agree on every one; otherwise creates them afresh. They are created with the
 * issuer's own admin operations, as `tokenrelay app create` does: the same validation, the same
 * cross-process lock on applications.json, and an `app_created` line in the issuer's audit log.
 * Applications an operator added beside them are kept. Secrets exist in plain text only in the
 * returned credentials, which the caller writes to dev.json (mode 0600).
 */
export async function ensureDevApplications(
  layout: DevLayout,
  options: { existing?: DevConfig; tokenLifetimeSeconds?: number },
): Promise<DevConfig['apps']> {
  const audit = new AuditLog(layout.issuerAuditLogPath);
  const admin: ApplicationAdminOptions = {
    applicationsPath: layout.applicationsPath,
    audit: (event) => audit.record(event),
  };
  let stored = await listApplications(admin).catch(() => undefined);
  if (options.existing && stored && allPresent(stored, options.existing)) return options.existing.apps;

  if (!stored) {
    // Unreadable (hand-edited, truncated): set it aside rather than lose it, and start a new one.
    await rename(layout.applicationsPath, `${layout.applicationsPath}.unreadable-${Date.now()}`).catch(
      () => {},
    );
    stored = [];
  }
  const reason = 'tokenrelay dev up: dev application (re)created';
  const apps = {} as DevConfig['apps'];
  for (const name of devApplicationNames) {
    if (stored.some((app) => app.id === name)) await deleteApplication(admin, name, { reason });
    const permissions = [...devApplicationPermissions[name]];
    const audience = devApplicationAudience[name];
    const { key } = await createApplication(
      admin,
      {
        id: name,
        permissions,
        ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
        ...(audience ? { audience } : {}),
        description: 'dev stack application (tokenrelay dev up)',
      },
      { reason },
    );
    apps[name] = { clientId: key.keyId, clientSecret: key.secret, permissions };
  }
  await audit.flush();
  return apps;
}

/**
 * Every dev application is stored with dev.json's key and today's permissions: a dev home made by an
 * older tokenrelay (whose applications lacked a grant added since) gets its applications re-created.
 */
function allPresent(stored: ApplicationView[], existing: DevConfig): boolean {
  return devApplicationNames.every((name) =>
    stored.some(
      (app) =>
        app.id === name &&
        app.keys.some((k) => k.id === existing.apps?.[name]?.clientId) &&
        samePermissions(app.permissions, devApplicationPermissions[name]),
    ),
  );
}

function samePermissions(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}
