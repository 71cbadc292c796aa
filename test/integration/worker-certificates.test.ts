import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import * as activities from '../../activities/index.js';
import { devTls, devToken } from '../../src/devstack/dev-config.js';
import { devLayout } from '../../src/devstack/layout.js';
import { devPkiPaths, issueLeaf, loadCertificateAuthority } from '../../src/devstack/pki.js';
import { packageRoot } from '../../src/package-root.js';
import { connectClient } from '../../src/temporal/connect.js';
import { startWorker } from '../../src/temporal/run-worker.js';
import { devConfig } from './helpers.js';

const config = devConfig();
const namespace = config.temporal.namespace;

describe('client-certificate rotation', () => {
  it('swaps replaced certificate files into the running worker without losing a task', async () => {
    // The worker gets its own copies of the certificate files, so replacing them affects no other test.
    const dir = await mkdtemp(join(tmpdir(), 'tokenrelay-rotation-'));
    const clientCertPath = join(dir, 'worker.pem');
    const clientKeyPath = join(dir, 'worker-key.pem');
    await copyFile(config.temporal.clientCertPath, clientCertPath);
    await copyFile(config.temporal.clientKeyPath, clientKeyPath);
    const tls = { ...devTls(config), clientCertPath, clientKeyPath };

    const token = devToken(config, 'developer');
    const taskQueue = `rotation-${randomUUID()}`;
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: join(packageRoot(), 'workflows', 'index.ts'),
    });
    const supervised = await startWorker({
      address: config.temporal.address,
      tls,
      token,
      worker: { taskQueue, workflowBundle, activities },
      certificateCheckIntervalMs: 250,
      shutdownSignals: [],
    });
    const connection = await connectClient({ address: config.temporal.address, tls: devTls(config), token });
    const client = new Client({ connection, namespace });
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
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const completedBefore = completed;
      const oldConnection = supervised.connection;
      const oldCert = await readFile(clientCertPath, 'utf8');
      const reloaded = once(supervised, 'certificatesReloaded');
      const ca = await loadCertificateAuthority(devPkiPaths(devLayout(inject('devRoot')).pkiDir));
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
      await new Promise((resolve) => setTimeout(resolve, 3_000));
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
    const dir = await mkdtemp(join(tmpdir(), 'tokenrelay-rotation-'));
    const clientCertPath = join(dir, 'worker.pem');
    const clientKeyPath = join(dir, 'worker-key.pem');
    await copyFile(config.temporal.clientCertPath, clientCertPath);
    await copyFile(config.temporal.clientKeyPath, clientKeyPath);
    const token = devToken(config, 'developer');
    const supervised = await startWorker({
      address: config.temporal.address,
      tls: { ...devTls(config), clientCertPath, clientKeyPath },
      token,
      worker: { taskQueue: `rotation-${randomUUID()}`, activities },
      certificateCheckIntervalMs: false,
      shutdownSignals: [],
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
