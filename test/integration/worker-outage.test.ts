import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { WorkflowHandle } from '@temporalio/client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { devToken } from '../../src/dev.js';
import { devStartService, devStopService } from '../../src/devstack/dev-stack.js';
import type { AuthRejectedEvent, RefreshingToken } from '../../src/index.js';
import {
  createTestApp,
  devConfig,
  devRoot,
  refreshingTokenFor,
  serverAuthRefusals,
  serverMetricsCaughtUp,
} from '../support/stack.js';
import { connectTestClient, referenceWorkflowBundle, startTestWorker } from '../support/temporal.js';
import { sleep, until } from '../support/wait.js';

const config = devConfig();
const root = devRoot();

/**
 * A worker on 10-second tokens and a client; the client's token is long-lived where a test needs to
 * start workflows while the issuer is down.
 */
async function workerAndClient(options: { clientToken: 'short' | 'long'; tokenSeconds?: number }) {
  const app = await createTestApp({ tokenLifetimeSeconds: options.tokenSeconds ?? 10 });
  // refreshAt 0.5 on long tokens: the first failed refresh of an outage comes half a lifetime before
  // expiry (by default, at 0.75 ± 0.05, a 30 s token had 6-9 s left, less than the issuer's restart
  // took at load 4-8 in CI). A 10 s token refreshes 5 s before expiry either way (the safety margin).
  const workerToken = refreshingTokenFor(config, app, { maxBackoffMs: 1_000, refreshAt: 0.5 });
  // 'short': worker and client share one token, so "the remaining lifetime" is one number.
  const clientToken = options.clientToken === 'short' ? workerToken : devToken(config, 'developer');
  const { supervised, taskQueue } = await startTestWorker(config, {
    token: workerToken,
    taskQueue: `outage-${randomUUID()}`,
    restartInitialDelayMs: 500,
    restartMaxDelayMs: 2_000,
  });
  const rejected: AuthRejectedEvent[] = [];
  const { connection, client } = await connectTestClient(config, {
    token: clientToken,
    onAuthRejected: (event) => rejected.push(event),
  });
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
  beforeAll(async () => {
    await referenceWorkflowBundle();
  });

  afterEach(async () => {
    await devStartService('issuer', { root });
  });

  it('shorter than the remaining token lifetime goes unnoticed by worker and client', async () => {
    // 30-second tokens: the outage ends ~15 s before the token expires. With 10-second tokens the 5 s
    // left after the failed refresh were less than restarting the issuer took on a loaded machine, so
    // the token expired mid-outage and the test measured the machine, not the worker (CI, load 10).
    const stack = await workerAndClient({ clientToken: 'short', tokenSeconds: 30 });
    try {
      const failed = failedRefreshes(stack.workerToken);
      const refusedBefore = await serverAuthRefusals(config);
      // Right after a refresh the token has ~30 s left; the next refresh is due in ~15 s, inside the outage.
      await nextRefresh(stack.workerToken);
      const heldExpiresAt = stack.workerToken.state.expiresAt!;
      await devStopService('issuer', { root });
      // The outage lasts until the worker's refresh, due ~15 s in, has failed (well inside the 30 s
      // token), with a workflow started every half second throughout.
      const results: Array<Promise<unknown>> = [];
      await until(
        async () => {
          results.push((await stack.start()).result());
          return failed.count >= 1;
        },
        "a failed refresh of the worker's token during the outage",
        { intervalMs: 500 },
      );
      await devStartService('issuer', { root });
      // The premise: the issuer was back before the token held through the outage expired.
      expect(Date.now(), 'the issuer came back only after the held token had expired').toBeLessThan(
        heldExpiresAt,
      );
      results.push((await stack.start()).result());
      const settled = await Promise.allSettled(results);
      expect(settled.filter((r) => r.status === 'rejected')).toEqual([]);
      // The outage was real: refreshes failed while the still-valid token kept being served.
      expect(failed.count).toBeGreaterThan(0);
      expect(stack.workerToken.state.valid).toBe(true);
      expect(stack.rejected).toEqual([]);
      await serverMetricsCaughtUp(config);
      expect(await serverAuthRefusals(config)).toBe(refusedBefore);
      expect(stack.supervised.restarts).toBe(0);
    } finally {
      await stack.close();
    }
  }, 90_000);

  it('of twice the token lifetime pauses work, which resumes by itself with nothing lost', async () => {
    const stack = await workerAndClient({ clientToken: 'long' });
    try {
      const before = await Promise.all([stack.start(), stack.start(), stack.start()]);
      await devStopService('issuer', { root });
      // The outage's length is the subject: twice the 10 s token lifetime, a workflow started every
      // two seconds throughout.
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
    const stack = await workerAndClient({ clientToken: 'long' });
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
