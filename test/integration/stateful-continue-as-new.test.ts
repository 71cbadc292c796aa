import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getApiTokenInfo, rotateApiToken, startParent } from '../../src/stateful/client.js';
import { devConfig } from '../support/stack.js';
import {
  eventually,
  findSecret,
  rawHistoryEvents,
  type StatefulHarness,
  statefulHarness,
  treeIds,
  treeState,
} from './fixtures/stateful/harness.js';
import { treeNode } from './fixtures/stateful/workflows.js';

const config = devConfig();

describe('a StatefulWorkflow that continues-as-new', () => {
  const taskQueue = `stateful-can-${randomUUID()}`;
  const rootId = `can-${randomUUID()}`;
  const ids = treeIds(rootId, 2, 1);
  const tokens = [`tok1-${randomUUID()}`, `tok2-${randomUUID()}`, `tok3-${randomUUID()}`];
  const runIds: string[] = [];
  let h: StatefulHarness;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    h = await statefulHarness(config);
    worker = await h.createWorker(taskQueue);
    running = worker.run();
  });

  afterAll(async () => {
    for (const id of ids) {
      await h?.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => {});
    }
    worker?.shutdown();
    await running;
    await h?.close();
  });

  /** Every node holds `token` at one version, owes nothing, and the root has both children's acks. */
  const settledOn = (token: string) =>
    eventually(
      () => treeState(h.client, ids),
      (states) =>
        states.every(
          (s) => s.token === token && s.info.children.pending === 0 && s.info.children.unconfirmed === 0,
        ) &&
        new Set(states.map((s) => s.info.version)).size === 1 &&
        states[0]!.info.children.reached === 2,
    );

  it('carries token, version, updatedAt, apiUrl and children to the next run', async () => {
    const root = await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: rootId,
      input: { depth: 1, fanout: 2, abandonChildren: true, apiUrl: 'https://old.example.test' },
      apiToken: tokens[0],
    });
    runIds.push(root.firstExecutionRunId);
    await settledOn(tokens[0]!);
    await root.signal('apiUrl', 'https://new.example.test');
    const before = await getApiTokenInfo(root);

    await root.signal('restart');
    const latest = h.client.workflow.getHandle(rootId);
    const described = await eventually(
      () => latest.describe(),
      (d) => d.runId !== runIds[0] && d.status.name === 'RUNNING',
    );
    runIds.push(described.runId);

    const after = await getApiTokenInfo(latest);
    expect(after).toEqual(before);
    await expect(latest.query('apiUrl')).resolves.toBe('https://new.example.test');
    await expect(latest.query('apiToken')).resolves.toBe(tokens[0]);

    // The children were started by the first run; the second still forwards rotations to them, and
    // their acks (sent to the parent by workflow id) reach the second run.
    await rotateApiToken(latest, tokens[1]!);
    const rotated = await settledOn(tokens[1]!);
    expect(rotated[0]!.info.version).toBeGreaterThan(before.version);
    expect(rotated[0]!.info.childList.map((c) => [c.sentVersion, c.confirmedVersion])).toEqual([
      [rotated[0]!.info.version, rotated[0]!.info.version],
      [rotated[0]!.info.version, rotated[0]!.info.version],
    ]);
  });

  it('finishes propagating a rotation that arrived just before continuing-as-new', async () => {
    const root = h.client.workflow.getHandle(rootId);
    await root.signal('apiToken', tokens[2]);
    await root.signal('restart');
    const described = await eventually(
      () => root.describe(),
      (d) => d.runId !== runIds[1] && d.status.name === 'RUNNING',
    );
    runIds.push(described.runId);
    const states = await settledOn(tokens[2]!);
    expect(states[0]!.info.childList).toHaveLength(2);

    const firstRunEnd = (await rawHistoryEvents(h.rawClient, rootId, runIds[1])).at(-1);
    expect(firstRunEnd?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
  });

  it('keeps the carried token out of the raw history of every run', async () => {
    for (const runId of runIds) {
      const events = await rawHistoryEvents(h.rawClient, rootId, runId);
      for (const token of tokens) expect(findSecret(events, token)).toEqual([]);
    }
  });
});
