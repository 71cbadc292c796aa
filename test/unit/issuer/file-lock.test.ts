import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from '../../../src/issuer/file-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withFileLock', () => {
  it('serialises read-modify-write sequences so no increment is lost', async () => {
    const path = join(dir, 'counter');
    await writeFile(path, '0');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(path, async () => {
          const n = Number(await readFile(path, 'utf8'));
          await new Promise((resolve) => setTimeout(resolve, 1));
          await writeFile(path, String(n + 1));
        }),
      ),
    );
    expect(await readFile(path, 'utf8')).toBe('20');
  });

  it('takes over a lock whose owner process is gone', async () => {
    const path = join(dir, 'state');
    await writeFile(`${path}.lock`, `${hostname()} 999999999 deadbeef`);
    await expect(withFileLock(path, async () => 'ran', { timeoutMs: 2000 })).resolves.toBe('ran');
  });

  it('takes over a lock older than staleMs even when the owner cannot be checked', async () => {
    const path = join(dir, 'state');
    await writeFile(`${path}.lock`, 'other-host 1 x');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    await expect(withFileLock(path, async () => 'ran', { timeoutMs: 2000, staleMs: 30_000 })).resolves.toBe(
      'ran',
    );
  });

  it('times out with issuer.lock_timeout while a live owner holds the lock', async () => {
    const path = join(dir, 'state');
    await writeFile(`${path}.lock`, `${hostname()} ${process.pid} live`);
    await expect(withFileLock(path, async () => 'ran', { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'issuer.lock_timeout',
    });
  });
});
