import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devLayout, devTls, devToken } from '../../src/dev.js';
import { devPkiPaths, issueLeaf, loadCertificateAuthority } from '../../src/devstack/pki.js';
import { devConfig, devRoot } from '../support/stack.js';
import { testTempDir } from '../support/temp-dir.js';
import { connectTestClient, startTestWorker } from '../support/temporal.js';
import { until } from '../support/wait.js';

const config = devConfig();

describe('client-certificate rotation', () => {
  it('swaps replaced certificate files into the running worker without losing a task', async () => {
    // The worker gets its own copies of the certificate files, so replacing them affects no other test.
    const dir = await testTempDir('tokenrelay-rotation-');
    const clientCertPath = join(dir, 'worker.pem');
    const clientKeyPath = join(dir, 'worker-key.pem');
    await copyFile(config.temporal.clientCertPath, clientCertPath);
    await copyFile(config.temporal.clientKeyPath, clientKeyPath);
    const tls = { ...devTls(config), clientCertPath, clientKeyPath };

    const token = devToken(config, 'developer');
    const { supervised, taskQueue } = await startTestWorker(config, {
      tls,
      token,
      certificateCheckIntervalMs: 250,
    });
    const { connection, client } = await connectTestClient(config, { token });
    let running = true;
    const failures: string[] = [];
    let completed = 0;
    const stream = (async () => {
      while (running) {
        const id = `rotation-${randomUUID()}`;
        try {
          await client.workflow.execute('smokeWorkflow', { taskQueue, workflowId: id, args: [id] });
          completed += 1;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    try {
      await until(() => completed >= 3, 'the stream to complete workflows before the swap');
      const completedBefore = completed;
      const oldConnection = supervised.connection;
      const oldCert = await readFile(clientCertPath, 'utf8');
      const reloaded = once(supervised, 'certificatesReloaded');
      const ca = await loadCertificateAuthority(devPkiPaths(devLayout(devRoot()).pkiDir));
      await issueLeaf(
        ca,
        { certPath: clientCertPath, keyPath: clientKeyPath },
        { commonName: 'tokenrelay-worker-rotated', usage: 'client', validityDays: 1 },
      );
      expect(await readFile(clientCertPath, 'utf8')).not.toBe(oldCert);
      const [{ connection: swapped }] = (await reloaded) as [{ connection: unknown }];
      expect(swapped).toBe(supervised.connection);
      expect(supervised.connection).not.toBe(oldConnection);
      expect(supervised.worker.connection).toBe(swapped);
      // The old connection is closed, so every task from here on runs over the new certificate.
      await expect(oldConnection.setApiKey('x')).rejects.toThrow();
      const completedAtSwap = completed;
      await until(
        () => completed >= completedAtSwap + 3 || failures.length > 0,
        'workflows to complete over the new connection',
      );
      running = false;
      await stream;
      expect(failures).toEqual([]);
      expect(completedBefore).toBeGreaterThan(0);
      expect(completed).toBeGreaterThan(completedAtSwap);
      expect(supervised.restarts).toBe(0);
    } finally {
      running = false;
      await stream;
      await connection.close();
      await supervised.shutdown();
      token.stop();
    }
  }, 90_000);

  it('keeps the current connection when the replacement files are not a usable pair', async () => {
    const dir = await testTempDir('tokenrelay-rotation-');
    const clientCertPath = join(dir, 'worker.pem');
    const clientKeyPath = join(dir, 'worker-key.pem');
    await copyFile(config.temporal.clientCertPath, clientCertPath);
    await copyFile(config.temporal.clientKeyPath, clientKeyPath);
    const token = devToken(config, 'developer');
    const { supervised } = await startTestWorker(config, {
      tls: { ...devTls(config), clientCertPath, clientKeyPath },
      token,
      certificateCheckIntervalMs: false,
    });
    try {
      const current = supervised.connection;
      // The admin key does not belong to the worker certificate.
      await copyFile(config.temporal.adminKeyPath, clientKeyPath);
      await expect(supervised.reloadCertificates()).rejects.toMatchObject({
        code: 'temporal.tls_material_invalid',
      });
      expect(supervised.connection).toBe(current);
      await expect(supervised.connection.setApiKey((await token.get()) as string)).resolves.toBeUndefined();
    } finally {
      await supervised.shutdown();
      token.stop();
    }
  }, 60_000);
});
