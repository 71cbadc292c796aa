import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getApiTokenInfo, rotateApiToken, startParent } from '../../src/stateful/client.js';
import { devConfig } from '../support/stack.js';
import {
  eventually,
  exited,
  type StatefulHarness,
  startWorkerProcess as startFixtureWorker,
  statefulHarness,
  treeIds,
  treeState,
} from './fixtures/stateful/harness.js';
import { treeNode } from './fixtures/stateful/workflows.js';

const config = devConfig();

describe('a worker killed (kill -9) in the middle of a propagation', () => {
  const taskQueue = `stateful-kill-${randomUUID()}`;
  const rootId = `kill-${randomUUID()}`;
  const ids = treeIds(rootId, 5, 2);
  const excludedIds = ids.filter((id) => id === `${rootId}.c2` || id.startsWith(`${rootId}.c2.`));
  const optedInIds = ids.filter((id) => !excludedIds.includes(id));
  const first = `tok-first-${randomUUID()}`;
  const second = `tok-second-${randomUUID()}`;
  let h: StatefulHarness;
  const workers: ChildProcess[] = [];

  /** Starts a worker process and resolves once it polls. */
  async function startWorkerProcess(): Promise<ChildProcess> {
    const child = await startFixtureWorker({ config, taskQueue, codecKeysEnv: h.codecKeysEnv });
    workers.push(child);
    return child;
  }

  beforeAll(async () => {
    h = await statefulHarness(config);
  });

  afterAll(async () => {
    await h?.client.workflow
      .getHandle(rootId)
      .terminate('test over')
      .catch(() => {});
    for (const child of workers) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await h?.close();
  });

  it('lets every opted-in workflow converge on the new token after a new worker takes over', async () => {
    const started = Date.now();
    const progress = (step: string) =>
      process.stderr.write(`[kill] ${step} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const killed = await startWorkerProcess();
    progress('first worker polling');
    await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: rootId,
      input: { depth: 2, fanout: 5, excluded: [2], workflowTaskTimeout: '2 seconds' },
      workflowTaskTimeout: '2 seconds',
      apiToken: first,
    });
    const [before] = await eventually(
      () => treeState(h.client, optedInIds),
      (states) => states.every((s) => s.token === first && s.info.children.pending === 0),
    );

    progress('tree started and holds the first token');
    await rotateApiToken(h.client, rootId, second);
    // Kill as soon as the root holds the new token but still owes it to its children.
    const atKill = await eventually(
      () => getApiTokenInfo(h.client, rootId),
      (info) => info.version > before!.info.version && info.children.pending > 0,
      { intervalMs: 20, timeoutMs: 30_000 },
    );
    killed.kill('SIGKILL');
    await exited(killed);
    expect(killed.signalCode).toBe('SIGKILL');
    expect(atKill.children.pending).toBeGreaterThan(0);

    progress('killed mid-propagation');
    await startWorkerProcess();
    progress('second worker polling');
    const states = await eventually(
      () => treeState(h.client, optedInIds),
      (s) =>
        s.every(
          (n) =>
            n.token === second &&
            n.info.version === atKill.version &&
            n.info.children.pending === 0 &&
            n.info.children.unconfirmed === 0,
        ),
      { timeoutMs: 90_000 },
    );
    expect(states).toHaveLength(25);
    expect(states[0]!.info.children).toMatchObject({ reached: 4, excluded: 1 });
    const excluded = await treeState(h.client, excludedIds);
    expect(excluded.every((s) => s.token === null && s.info.version === 0)).toBe(true);
    // Two worker processes each bundle the workflow code at start: slow on a busy two-core machine.
  }, 240_000);
});
