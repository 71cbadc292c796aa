import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import * as activities from '../../activities/index.js';
import type { RefreshingToken } from '../../src/auth/refreshing-token.js';
import { devTls, devToken } from '../../src/devstack/dev-config.js';
import { devStartService, devStopService } from '../../src/devstack/dev-stack.js';
import { packageRoot } from '../../src/package-root.js';
import type { AuthRejectedEvent } from '../../src/temporal/auth-interceptors.js';
import { connectClient } from '../../src/temporal/connect.js';
import { startWorker } from '../../src/temporal/run-worker.js';
import { createTestApp, devConfig, refreshingTokenFor, serverAuthRefusals } from './helpers.js';

const config = devConfig();
const root = inject('devRoot');
const namespace = config.temporal.namespace;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A worker on 10-second tokens and a client; the client's token is long-lived where a test needs to
 * start workflows while the issuer is down.
 */
async function workerAndClient(workflowBundle: WorkflowBundle, options: { clientToken: 'short' | 'long' }) {
  const app = await createTestApp({ tokenLifetimeSeconds: 10 });
  const workerToken = refreshingTokenFor(config, app, { maxBackoffMs: 1_000 });
  // 'short': worker and client share one 10-second token, so "the remaining lifetime" is one number.
  const clientToken = options.clientToken === 'short' ? workerToken : devToken(config, 'developer');
  const taskQueue = `outage-${randomUUID()}`;
  const tls = devTls(config);
  const supervised = await startWorker({
    address: config.temporal.address,
    tls,
    token: workerToken,
    worker: { taskQueue, workflowBundle, activities },
    shutdownSignals: [],
    restartInitialDelayMs: 500,
    restartMaxDelayMs: 2_000,
  });
  const rejected: AuthRejectedEvent[] = [];
  const connection = await connectClient({
    address: config.temporal.address,
    tls,
    token: clientToken,
    onAuthRejected: (event) => rejected.push(event),
  });
  const client = new Client({ connection, namespace });
  const start = (): Promise<WorkflowHandle> => {
    const id = `outage-${randomUUID()}`;
    return client.workflow.start('smokeWorkflow', { taskQueue, workflowId: id, args: [id] });
  };
  const close = async () => {
    await connection.close();
    await supervised.shutdown();
    workerToken.stop();
    clientToken.stop();
  };
  return { supervised, workerToken, client, start, rejected, close };
}

function nextRefresh(token: RefreshingToken): Promise<unknown> {
  return once(token, 'refreshed');
}

function failedRefreshes(token: RefreshingToken): { count: number } {
  const counter = { count: 0 };
  token.on('refreshFailed', () => {
    counter.count += 1;
  });
  return counter;
}

async function statusOf(handle: WorkflowHandle): Promise<string> {
  return (await handle.describe()).status.name;
}

describe('an issuer outage', () => {
  let workflowBundle: WorkflowBundle;

  beforeAll(async () => {
    workflowBundle = await bundleWorkflowCode({
      workflowsPath: join(packageRoot(), 'workflows', 'index.ts'),
    });
  });

  afterEach(async () => {
    await devStartService('issuer', { root });
  });

  it('shorter than the remaining token lifetime goes unnoticed by worker and client', async () => {
    const stack = await workerAndClient(workflowBundle, { clientToken: 'short' });
    try {
      const failed = failedRefreshes(stack.workerToken);
      const refusedBefore = await serverAuthRefusals(config);
      // Right after a refresh the token has ~10 s left; the next refresh is due in ~5 s, inside the outage.
      await nextRefresh(stack.workerToken);
      await devStopService('issuer', { root });
      const outageEnds = Date.now() + 6_000;
      const results: Array<Promise<unknown>> = [];
      while (Date.now() < outageEnds) {
        results.push((await stack.start()).result());
        await sleep(500);
      }
      await devStartService('issuer', { root });
      results.push((await stack.start()).result());
      const settled = await Promise.allSettled(results);
      expect(settled.filter((r) => r.status === 'rejected')).toEqual([]);
      // The outage was real: refreshes failed while the still-valid token kept being served.
      expect(failed.count).toBeGreaterThan(0);
      expect(stack.workerToken.state.valid).toBe(true);
      expect(stack.rejected).toEqual([]);
      await sleep(2_000);
      expect(await serverAuthRefusals(config)).toBe(refusedBefore);
      expect(stack.supervised.restarts).toBe(0);
    } finally {
      await stack.close();
    }
  }, 90_000);

  it('of twice the token lifetime pauses work, which resumes by itself with nothing lost', async () => {
    const stack = await workerAndClient(workflowBundle, { clientToken: 'long' });
    try {
      const before = await Promise.all([stack.start(), stack.start(), stack.start()]);
      await devStopService('issuer', { root });
      const outageEnds = Date.now() + 20_000;
      const during: WorkflowHandle[] = [];
      while (Date.now() < outageEnds) {
        during.push(await stack.start());
        await sleep(2_000);
      }
      // Work really paused: the worker's token expired, and the latest workflows have not run.
      expect(stack.workerToken.state.valid).toBe(false);
      expect(await statusOf(during.at(-1) as WorkflowHandle)).toBe('RUNNING');
      await devStartService('issuer', { root });
      const results = await Promise.all([...before, ...during].map((h) => h.result()));
      expect(results).toHaveLength(before.length + during.length);
      for (const result of results) expect(result).toMatch(/^hello outage-/);
      expect(stack.rejected).toEqual([]);
    } finally {
      await stack.close();
    }
  }, 120_000);

  it('long enough for the worker core to give up: the supervised worker starts again and finishes everything', async () => {
    const stack = await workerAndClient(workflowBundle, { clientToken: 'long' });
    try {
      const failedWorker = once(stack.supervised, 'workerFailed');
      const firstWorker = stack.supervised.worker;
      await devStopService('issuer', { root });
      const handles = [await stack.start()];
      // The core retries refused polls for about two minutes after the token expired, then stops.
      const [failure] = (await failedWorker) as [{ authorization: boolean; error: Error }];
      expect(failure.authorization).toBe(true);
      handles.push(await stack.start());
      const restarted = once(stack.supervised, 'workerRestarted');
      await devStartService('issuer', { root });
      await restarted;
      expect(stack.supervised.worker).not.toBe(firstWorker);
      expect(stack.supervised.restarts).toBeGreaterThanOrEqual(1);
      handles.push(await stack.start());
      const results = await Promise.all(handles.map((h) => h.result()));
      for (const result of results) expect(result).toMatch(/^hello outage-/);
    } finally {
      await stack.close();
    }
  }, 300_000);
});
