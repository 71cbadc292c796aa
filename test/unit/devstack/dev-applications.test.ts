import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  devApplicationNames,
  devApplicationPermissions,
  ensureDevApplications,
} from '../../../src/devstack/dev-applications.js';
import type { DevConfig } from '../../../src/devstack/dev-config.js';
import { type DevLayout, devLayout } from '../../../src/devstack/layout.js';
import { createApplication, listApplications } from '../../../src/issuer/application-admin.js';
import { ApplicationStore } from '../../../src/issuer/applications.js';

let layout: DevLayout;

beforeEach(async () => {
  layout = devLayout(await mkdtemp(join(tmpdir(), 'dev-apps-')));
  await mkdir(layout.issuerDir, { recursive: true });
});
afterEach(async () => {
  await rm(layout.root, { recursive: true, force: true });
});

const asExisting = (apps: DevConfig['apps']) => ({ apps }) as DevConfig;

describe('ensureDevApplications', () => {
  it('creates every dev application through the issuer, whose store then accepts its credentials', async () => {
    const apps = await ensureDevApplications(layout, { tokenLifetimeSeconds: 30 });
    expect(Object.keys(apps).sort()).toEqual([...devApplicationNames].sort());
    const store = new ApplicationStore(layout.applicationsPath);
    for (const name of devApplicationNames) {
      const creds = apps[name];
      expect(creds.permissions).toEqual(devApplicationPermissions[name]);
      const result = await store.check(creds.clientId, creds.clientSecret);
      expect(result.ok && result.app.id).toBe(name);
      expect(result.ok && result.app.tokenLifetimeSeconds).toBe(30);
    }
    const apiClient = (await listApplications({ applicationsPath: layout.applicationsPath })).find(
      (a) => a.id === 'apiClient',
    );
    expect(apiClient?.audience).toBe('tokenrelay-demo-api');
  });

  it('records each creation in the issuer audit log, without a secret', async () => {
    const apps = await ensureDevApplications(layout, {});
    const lines = (await readFile(layout.issuerAuditLogPath, 'utf8')).trim().split('\n');
    const created = lines.map((l) => JSON.parse(l)).filter((e) => e.event === 'app_created');
    expect(created.map((e) => e.app).sort()).toEqual([...devApplicationNames].sort());
    for (const creds of Object.values(apps)) {
      expect(lines.join('\n')).not.toContain(creds.clientSecret);
    }
  });

  it('keeps the credentials of a dev.json whose keys the issuer still holds', async () => {
    const first = await ensureDevApplications(layout, {});
    const again = await ensureDevApplications(layout, { existing: asExisting(first) });
    expect(again).toEqual(first);
  });

  it('replaces the dev applications when dev.json names a key the issuer lost, keeping an operator app', async () => {
    const first = await ensureDevApplications(layout, {});
    await createApplication(
      { applicationsPath: layout.applicationsPath },
      { id: 'billing-worker', permissions: ['billing:write'] },
    );
    const stale = { ...first, worker: { ...first.worker, clientId: 'trk_gone' } };
    const fresh = await ensureDevApplications(layout, { existing: asExisting(stale) });
    expect(fresh.worker.clientId).not.toBe(first.worker.clientId);
    const ids = (await listApplications({ applicationsPath: layout.applicationsPath })).map((a) => a.id);
    expect(ids.sort()).toEqual([...devApplicationNames, 'billing-worker'].sort());
    // The old dev keys went with their applications.
    const store = new ApplicationStore(layout.applicationsPath);
    expect((await store.check(first.developer.clientId, first.developer.clientSecret)).ok).toBe(false);
  });

  it('sets an unreadable applications file aside instead of failing or losing it', async () => {
    await writeFile(layout.applicationsPath, '{ not json');
    const apps = await ensureDevApplications(layout, {});
    expect(Object.keys(apps)).toHaveLength(devApplicationNames.length);
    const kept = (await readdir(layout.issuerDir)).filter((f) =>
      f.startsWith('applications.json.unreadable-'),
    );
    expect(kept).toHaveLength(1);
  });

  it('refuses a token lifetime the issuer would refuse, as app create does', async () => {
    await expect(ensureDevApplications(layout, { tokenLifetimeSeconds: 10 * 86_400 })).rejects.toMatchObject({
      code: 'issuer.invalid_argument',
    });
  });
});
