import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileChangeWatcher } from '../../../src/temporal/file-change-watcher.js';
import { testTempDir } from '../../support/temp-dir.js';
import { until, sleep as wait } from '../../support/wait.js';

const soon = { timeoutMs: 10_000, intervalMs: 10 };
let watcher: FileChangeWatcher | undefined;

afterEach(() => {
  watcher?.stop();
});

async function files() {
  const dir = await testTempDir('tokenrelay-watch-');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await writeFile(cert, 'cert-1');
  await writeFile(key, 'key-1');
  return { dir, cert, key };
}

describe('FileChangeWatcher', () => {
  it('reports a replaced pair once, after it has settled', async () => {
    const { dir, cert, key } = await files();
    let changes = 0;
    watcher = new FileChangeWatcher({ paths: [cert, key], intervalMs: 20, onChange: () => void changes++ });
    await watcher.start();
    await wait(100);
    expect(changes).toBe(0);
    // Replaced the way rotation tools do it: write aside, rename into place.
    await writeFile(join(dir, 'key.new'), 'key-2-longer');
    await rename(join(dir, 'key.new'), key);
    await writeFile(join(dir, 'cert.new'), 'cert-2-longer');
    await rename(join(dir, 'cert.new'), cert);
    await until(() => changes > 0, 'the replaced pair to be reported', soon);
    await wait(100); // five more polls, to show it is reported once
    expect(changes).toBe(1);
  });

  it('does not report while the files keep changing, only once they stop', async () => {
    const { cert, key } = await files();
    let changes = 0;
    watcher = new FileChangeWatcher({ paths: [cert, key], intervalMs: 100, onChange: () => void changes++ });
    await watcher.start();
    // A slow writer: every poll during these ~300 ms sees a different size.
    for (let i = 0; i < 15; i++) {
      await writeFile(cert, `cert-${'x'.repeat(i + 2)}`);
      await wait(20);
    }
    expect(changes).toBe(0);
    await until(() => changes > 0, 'the settled file to be reported', soon);
    expect(changes).toBe(1);
  });

  it('keeps watching after the callback throws, and stops when told', async () => {
    const { cert } = await files();
    let calls = 0;
    watcher = new FileChangeWatcher({
      paths: [cert],
      intervalMs: 20,
      onChange: () => {
        calls += 1;
        throw new Error('reload failed');
      },
    });
    await watcher.start();
    await writeFile(cert, 'cert-two');
    await until(() => calls === 1, 'the first change to be reported', soon);
    await writeFile(cert, 'cert-three!');
    await until(() => calls === 2, 'the second change, after the callback threw', soon);
    watcher.stop();
    await writeFile(cert, 'cert-four!!!');
    await wait(120); // six polls' worth: a stopped watcher reports nothing
    expect(calls).toBe(2);
  });

  it('rejects options that cannot work', () => {
    expect(() => new FileChangeWatcher({ paths: [], intervalMs: 10, onChange: () => {} })).toThrow(/paths/);
    expect(() => new FileChangeWatcher({ paths: ['a'], intervalMs: 0, onChange: () => {} })).toThrow(
      /intervalMs/,
    );
  });
});
