import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createAccessKey,
  createApplication,
  deleteApplication,
  getApplication,
  listApplications,
  pauseAccessKey,
  resumeAccessKey,
  revokeAccessKey,
} from '../../../src/issuer/application-admin.js';
import { ApplicationStore } from '../../../src/issuer/applications.js';
import type { AuditEvent } from '../../../src/issuer/audit-log.js';

let dir: string;
let events: AuditEvent[];
let options: { applicationsPath: string; audit: (e: AuditEvent) => void };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'app-admin-'));
  events = [];
  options = { applicationsPath: join(dir, 'state', 'applications.json'), audit: (e) => void events.push(e) };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('applications and access keys', () => {
  it('creates an application whose key authenticates, storing only a hash of the secret (mode 0600)', async () => {
    const { application, key } = await createApplication(options, {
      id: 'billing',
      permissions: ['billing:write'],
      tokenLifetimeSeconds: 120,
    });
    expect(application).toMatchObject({
      id: 'billing',
      permissions: ['billing:write'],
      tokenLifetimeSeconds: 120,
    });
    expect(key.secret.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    const text = await readFile(options.applicationsPath, 'utf8');
    expect(text).not.toContain(key.secret);
    expect((await stat(options.applicationsPath)).mode & 0o777).toBe(0o600);
    const store = new ApplicationStore(options.applicationsPath);
    expect((await store.authenticate(key.keyId, key.secret))?.id).toBe('billing');
    expect(JSON.stringify(await getApplication(options, 'billing'))).not.toContain('secretHash');
  });

  it('lists, shows and deletes applications', async () => {
    await createApplication(options, { id: 'a', permissions: ['default:read'] });
    await createApplication(options, { id: 'b', permissions: ['default:write'] });
    expect((await listApplications(options)).map((a) => a.id)).toEqual(['a', 'b']);
    await deleteApplication(options, 'a');
    expect((await listApplications(options)).map((a) => a.id)).toEqual(['b']);
    await expect(getApplication(options, 'a')).rejects.toMatchObject({ code: 'issuer.app_not_found' });
  });

  it('pauses, resumes and revokes keys; a revoked key cannot be resumed', async () => {
    const { key } = await createApplication(options, { id: 'a', permissions: ['default:read'] });
    const second = await createAccessKey(options, 'a');
    const store = new ApplicationStore(options.applicationsPath);
    expect((await pauseAccessKey(options, key.keyId)).status).toBe('paused');
    expect(await store.check(key.keyId, key.secret)).toEqual({ ok: false, reason: 'key_paused' });
    expect((await store.check(second.keyId, second.secret)).ok).toBe(true); // other keys unaffected
    await resumeAccessKey(options, key.keyId);
    expect((await store.check(key.keyId, key.secret)).ok).toBe(true);
    await revokeAccessKey(options, key.keyId);
    expect(await store.check(key.keyId, key.secret)).toEqual({ ok: false, reason: 'key_revoked' });
    await expect(resumeAccessKey(options, key.keyId)).rejects.toMatchObject({ code: 'issuer.key_revoked' });
    expect(events.map((e) => e.event)).toEqual([
      'app_created',
      'key_created',
      'key_created',
      'key_paused',
      'key_resumed',
      'key_revoked',
    ]);
  });

  it('refuses duplicates, unknown ids and invalid input with codes', async () => {
    await createApplication(options, { id: 'a', permissions: ['default:read'] });
    await expect(
      createApplication(options, { id: 'a', permissions: ['default:read'] }),
    ).rejects.toMatchObject({
      code: 'issuer.app_exists',
    });
    await expect(createAccessKey(options, 'zzz')).rejects.toMatchObject({ code: 'issuer.app_not_found' });
    await expect(pauseAccessKey(options, 'trk_nope')).rejects.toMatchObject({ code: 'issuer.key_not_found' });
    for (const bad of [
      { id: 'has space', permissions: ['default:read'] },
      { id: 'bootstrap-admin', permissions: ['default:read'] },
      { id: 'x', permissions: ['default:superuser'] },
      { id: 'x', permissions: [] },
      { id: 'x', permissions: ['default:read'], tokenLifetimeSeconds: 0 },
    ]) {
      await expect(createApplication(options, bad)).rejects.toMatchObject({
        code: 'issuer.invalid_argument',
      });
    }
  });

  it('loses no key when many creations run at once', async () => {
    await createApplication(options, { id: 'a', permissions: ['default:read'] });
    const created = await Promise.all(Array.from({ length: 20 }, () => createAccessKey(options, 'a')));
    const stored = (await getApplication(options, 'a')).keys.map((k) => k.id);
    expect(stored).toHaveLength(21);
    expect(stored).toEqual(expect.arrayContaining(created.map((c) => c.keyId)));
  });
});
