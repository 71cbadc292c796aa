import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import * as activities from '../../activities/index.js';
import { devTls } from '../../src/devstack/dev-config.js';
import { packageRoot } from '../../src/package-root.js';
import type { AuthRejectedEvent } from '../../src/temporal/auth-interceptors.js';
import { connectClient } from '../../src/temporal/connect.js';
import { startWorker } from '../../src/temporal/run-worker.js';
import {
  createTestApp,
  devConfig,
  installCountingRuntime,
  refreshingTokenFor,
  serverAuthRefusals,
} from './helpers.js';

const config = devConfig();
const namespace = config.temporal.namespace;
const STREAM_MS = 120_000;

describe('a worker and a client on 10-second tokens', () => {
  let runtime: Awaited<ReturnType<typeof installCountingRuntime>>;
  let workflowBundle: WorkflowBundle;

  beforeAll(async () => {
    runtime = await installCountingRuntime();
    workflowBundle = await bundleWorkflowCode({
      workflowsPath: join(packageRoot(), 'workflows', 'index.ts'),
    });
  });

  it('process a continuous stream of workflows for 2 minutes with zero authorization failures on either side', async () => {
    const app = await createTestApp({ tokenLifetimeSeconds: 10 });
    const workerToken = refreshingTokenFor(config, app);
    const clientToken = refreshingTokenFor(config, app);
    let workerRefreshes = 0;
    workerToken.on('refreshed', () => {
      workerRefreshes += 1;
    });
    const rejected: AuthRejectedEvent[] = [];
    const taskQueue = `stream-${randomUUID()}`;
    const tls = devTls(config);
    const supervised = await startWorker({
      address: config.temporal.address,
      tls,
      token: workerToken,
      worker: { taskQueue, workflowBundle, activities },
      shutdownSignals: [],
    });
    const connection = await connectClient({
      address: config.temporal.address,
      tls,
      token: clientToken,
      onAuthRejected: (event) => rejected.push(event),
    });
    try {
      const client = new Client({ connection, namespace });
      const serverRefusedBefore = await serverAuthRefusals(config);
      const workerRefusedBefore = runtime.authFailures();
      const requestsBefore = await runtime.requests();
      const deadline = Date.now() + STREAM_MS;
      const failures: string[] = [];
      let completed = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (Date.now() < deadline) {
            const id = `stream-${randomUUID()}`;
            try {
              await client.workflow.execute('smokeWorkflow', { taskQueue, workflowId: id, args: [id] });
              completed += 1;
            } catch (err) {
              failures.push((err as Error).message);
            }
          }
        }),
      );
      const lifetimeS = (() => {
        const claims = decodeJwt(workerToken.current() ?? '');
        return (claims.exp ?? 0) - (claims.iat ?? 0);
      })();
      process.stderr.write(
        `[stream] ${completed} workflows in ${STREAM_MS / 1000}s, ${workerRefreshes} worker token refreshes\n`,
      );
      expect(lifetimeS).toBe(10);
      expect(failures).toEqual([]);
      expect(rejected).toEqual([]);
      expect(runtime.authFailures()).toBe(workerRefusedBefore);
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // the server's metrics flush
      expect(await serverAuthRefusals(config)).toBe(serverRefusedBefore);
      expect(await runtime.requests()).toBeGreaterThan(requestsBefore);
      expect(supervised.restarts).toBe(0);
      // The tokens really did turn over many times during the run: ~120 s / 7.5 s.
      expect(workerRefreshes).toBeGreaterThanOrEqual(12);
      expect(completed).toBeGreaterThan(50);
    } finally {
      await connection.close();
      await supervised.shutdown();
      workerToken.stop();
      clientToken.stop();
    }
  }, 240_000);
});
