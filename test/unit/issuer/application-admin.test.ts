import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createAccessKey,
  createApplication,
  deleteAccessKey,
  deleteApplication,
  getApplication,
  listApplications,
  pauseAccessKey,
  resumeAccessKey,
  revokeAccessKey,
  updateApplication,
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

describe('the lifecycle operators expect', () => {
  it('access keys with an expiry: shown, and refused once past with their own reason', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const timed = { ...options, now: () => now };
    const { key } = await createApplication(timed, {
      id: 'a',
      permissions: ['default:read'],
      keyExpiresInSeconds: 3600,
    });
    expect(key.expiresAt).toBe('2026-03-01T01:00:00.000Z');
    const second = await createAccessKey(timed, 'a', { expiresInSeconds: 7200 });
    expect((await getApplication(timed, 'a')).keys).toEqual([
      expect.objectContaining({ id: key.keyId, expiresAt: '2026-03-01T01:00:00.000Z', expired: false }),
      expect.objectContaining({ id: second.keyId, expiresAt: '2026-03-01T02:00:00.000Z', expired: false }),
    ]);
    const store = new ApplicationStore(options.applicationsPath);
    expect((await store.check(key.keyId, key.secret, now)).ok).toBe(true);
    now += 3600_000;
    expect(await store.check(key.keyId, key.secret, now)).toEqual({ ok: false, reason: 'key_expired' });
    expect((await store.check(second.keyId, second.secret, now)).ok).toBe(true);
    expect((await getApplication(timed, 'a')).keys[0]).toMatchObject({ expired: true });
    expect(events.find((e) => e.event === 'key_created')).toMatchObject({
      expiresAt: '2026-03-01T01:00:00.000Z',
    });
    await expect(createAccessKey(timed, 'a', { expiresInSeconds: 0 })).rejects.toMatchObject({
      code: 'issuer.invalid_argument',
    });
  });

  it('app update changes permissions, lifetime and audience, validated like create, and audits the change', async () => {
    await createApplication(options, { id: 'a', permissions: ['default:read'], tokenLifetimeSeconds: 300 });
    const updated = await updateApplication(
      { ...options, actor: 'credential:trk_admin' },
      'a',
      {
        permissions: ['default:write', 'default:write'],
        tokenLifetimeSeconds: null,
        audience: 'billing-api',
      },
      { reason: 'ticket OPS-7' },
    );
    expect(updated).toMatchObject({ permissions: ['default:write'], audience: 'billing-api' });
    expect(updated.tokenLifetimeSeconds).toBeUndefined();
    expect(events.at(-1)).toEqual({
      event: 'app_updated',
      app: 'a',
      actor: 'credential:trk_admin',
      reason: 'ticket OPS-7',
      changes: {
        permissions: { from: ['default:read'], to: ['default:write'] },
        tokenLifetimeSeconds: { from: 300 },
        audience: { to: 'billing-api' },
      },
    });
    for (const bad of [
      { permissions: ['default:superuser'] },
      { permissions: [] },
      { tokenLifetimeSeconds: 86_401 },
      { tokenLifetimeSeconds: 1.5 },
      { audience: '' },
      {},
    ]) {
      await expect(updateApplication(options, 'a', bad)).rejects.toMatchObject({
        code: 'issuer.invalid_argument',
      });
    }
    await expect(updateApplication(options, 'nope', { audience: 'x' })).rejects.toMatchObject({
      code: 'issuer.app_not_found',
    });
    // A lower issuer cap is honoured too.
    await expect(
      updateApplication({ ...options, maxTokenLifetimeSeconds: 600 }, 'a', { tokenLifetimeSeconds: 601 }),
    ).rejects.toMatchObject({ code: 'issuer.invalid_argument' });
  });

  it('app key delete removes revoked keys only', async () => {
    const { key } = await createApplication(options, { id: 'a', permissions: ['default:read'] });
    await expect(deleteAccessKey(options, key.keyId)).rejects.toMatchObject({
      code: 'issuer.key_not_revoked',
    });
    await pauseAccessKey(options, key.keyId);
    await expect(deleteAccessKey(options, key.keyId)).rejects.toMatchObject({
      code: 'issuer.key_not_revoked',
    });
    await revokeAccessKey(options, key.keyId, { reason: 'laptop lost' });
    await deleteAccessKey(options, key.keyId, { reason: 'cleanup' });
    expect((await getApplication(options, 'a')).keys).toEqual([]);
    await expect(deleteAccessKey(options, key.keyId)).rejects.toMatchObject({ code: 'issuer.key_not_found' });
    expect(events.at(-1)).toMatchObject({ event: 'key_deleted', keyId: key.keyId, reason: 'cleanup' });
  });

  it('records the reason of pause and revoke on the key and in the audit log, with the actor', async () => {
    const { key } = await createApplication(options, { id: 'a', permissions: ['default:read'] });
    await pauseAccessKey(options, key.keyId, { reason: 'suspicious traffic' });
    expect((await getApplication(options, 'a')).keys[0]).toMatchObject({
      status: 'paused',
      statusReason: 'suspicious traffic',
    });
    await revokeAccessKey(options, key.keyId, { reason: 'confirmed leak' });
    const revoked = events.find((e) => e.event === 'key_revoked');
    expect(revoked).toMatchObject({
      reason: 'confirmed leak',
      actor: expect.stringMatching(/^os:.+ \(uid \d+\)/),
    });
    // Every admin event names its actor.
    expect(events.every((e) => typeof (e as { actor?: unknown }).actor === 'string')).toBe(true);
    await expect(pauseAccessKey(options, key.keyId, { reason: 'two\nlines' })).rejects.toMatchObject({
      code: 'issuer.invalid_argument',
    });
    await expect(pauseAccessKey(options, key.keyId, { reason: '\u001b[31mred' })).rejects.toMatchObject({
      code: 'issuer.invalid_argument',
    });
  });
});
