import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApplication, getApplication } from '../../src/issuer/application-admin.js';
import { ApplicationStore } from '../../src/issuer/applications.js';

const run = promisify(execFile);
const bin = resolve('bin/tokenrelay.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(inject('devRoot'), 'issuer-parallel-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('concurrent CLI processes', () => {
  it('20 parallel `app key create` processes yield 20 working keys, none lost', {
    timeout: 300_000,
  }, async () => {
    await createApplication(
      { applicationsPath: join(dir, 'applications.json') },
      { id: 'fleet', permissions: ['default:read'] },
    );
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        run(process.execPath, [bin, 'app', 'key', 'create', 'fleet', '--state-dir', dir, '--json'], {
          timeout: 240_000,
        }).then(({ stdout }) => JSON.parse(stdout) as { keyId: string; keySecret: string }),
      ),
    );
    const stored = (await getApplication({ applicationsPath: join(dir, 'applications.json') }, 'fleet')).keys;
    expect(stored).toHaveLength(21); // the first key from createApplication, plus 20
    expect(stored.map((k) => k.id)).toEqual(expect.arrayContaining(results.map((r) => r.keyId)));
    const store = new ApplicationStore(join(dir, 'applications.json'));
    for (const r of results) expect((await store.check(r.keyId, r.keySecret)).ok).toBe(true);
  });
});
