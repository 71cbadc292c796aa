import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateApiToken, startParent } from '../../src/stateful/client.js';
import { apiTokenFingerprint } from '../../src/stateful/fingerprint.js';
import type { StatefulHandoff } from '../../src/stateful/messages.js';
import {
  eventually,
  findSecret,
  type NodeState,
  rawHistoryEvents,
  type StatefulHarness,
  statefulHarness,
  treeIds,
  treeState,
} from './fixtures/stateful/harness.js';
import { treeNode } from './fixtures/stateful/workflows.js';
import { devConfig } from './helpers.js';

const config = devConfig();
const FANOUT = 5;
const DEPTH = 2;
const EXCLUDED_CHILD = 2;
const COMPLETED_CHILD = 4;

const token = (n: number) => `tok${n}-${randomUUID()}`;
const tokens = Array.from({ length: 7 }, (_, i) => token(i));

describe('a StatefulWorkflow tree of 1 root + 5 children + 25 grandchildren, one child excluded', () => {
  const taskQueue = `stateful-tree-${randomUUID()}`;
  const rootId = `tree-${randomUUID()}`;
  const ids = treeIds(rootId, FANOUT, DEPTH);
  const inSubtree = (id: string, child: number) =>
    id === `${rootId}.c${child}` || id.startsWith(`${rootId}.c${child}.`);
  const excludedIds = ids.filter((id) => inSubtree(id, EXCLUDED_CHILD));
  const optedInIds = ids.filter((id) => !inSubtree(id, EXCLUDED_CHILD));
  const spawnedId = `${rootId}.spawned`;
  const loneId = `lone-${randomUUID()}`;
  const loneSpawnedId = `${loneId}.spawned`;
  const loneTokens = [token(10), token(11)];
  let h: StatefulHarness;
  let worker: Worker;
  let running: Promise<void>;

  const startWorker = async () => {
    worker = await h.createWorker(taskQueue);
    running = worker.run();
  };
  const stopWorker = async () => {
    worker.shutdown();
    await running;
  };
  /** Waits until every workflow in `nodes` holds `tokens[version]` at `version` with nothing pending. */
  const converged = (nodes: string[], version: number) =>
    eventually(
      () => treeState(h.client, nodes),
      (states) =>
        states.every(
          (s) => s.token === tokens[version] && s.info.version === version && s.info.children.pending === 0,
        ),
    );

  beforeAll(async () => {
    h = await statefulHarness(config);
    await startWorker();
    await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: rootId,
      input: { depth: DEPTH, fanout: FANOUT, excluded: [EXCLUDED_CHILD], apiUrl: 'https://api.example.test' },
      apiToken: tokens[1],
    });
    await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: loneId,
      input: { depth: 0, fanout: 0 },
      apiToken: loneTokens[0],
    });
  });

  afterAll(async () => {
    // Children and grandchildren go with the root (parent close policy TERMINATE).
    await h?.client.workflow
      .getHandle(rootId)
      .terminate('test over')
      .catch(() => {});
    for (const id of [loneId, loneSpawnedId]) {
      await h?.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => {});
    }
    if (worker) await stopWorker();
    await h?.close();
  });

  it('hands the first token to every opted-in workflow at start and none to the excluded subtree', async () => {
    const states = await converged(optedInIds, 1);
    expect(states).toHaveLength(25);
    const fingerprint = apiTokenFingerprint(tokens[1]!);
    expect(states.every((s) => s.info.fingerprint === fingerprint)).toBe(true);
    const root = states.find((s) => s.workflowId === rootId)!;
    expect(root.info.children).toEqual({ reached: 4, pending: 0, excluded: 1, skipped: 0 });

    // apiUrl is each workflow's own: the root's came from its input, its children started without one.
    await expect(h.client.workflow.getHandle(rootId).query('apiUrl')).resolves.toBe(
      'https://api.example.test',
    );
    await expect(h.client.workflow.getHandle(`${rootId}.c0`).query('apiUrl')).resolves.toBeNull();

    const excluded = await treeState(h.client, excludedIds);
    expect(excluded).toHaveLength(6);
    for (const s of excluded)
      expect(s).toMatchObject({ token: null, info: { version: 0, fingerprint: null } });
  });

  it('ends every workflow with the second of two quick rotations', async () => {
    const root = h.client.workflow.getHandle(rootId);
    // One through the helper, one through the plain Temporal API by signal name, back to back.
    await rotateApiToken(root, tokens[2]!);
    await root.signal('apiToken', tokens[3]);
    const states = await converged(optedInIds, 3);
    expect(new Set(states.map((s) => s.info.fingerprint))).toEqual(
      new Set([apiTokenFingerprint(tokens[3]!)]),
    );
  });

  it('ignores a stale envelope that arrives after a newer token, and takes a newer one', async () => {
    const leafId = `${rootId}.c0.c0`;
    const leaf = h.client.workflow.getHandle(leafId);
    await leaf.signal('apiToken', { token: 'stale-token-value', version: 2 });
    await h.client.workflow
      .getHandle(`${rootId}.c1`)
      .signal('apiToken', { token: 'stale-token-value', version: 3 });
    // A newer envelope to the same leaf is taken: the stale one was refused for its version alone.
    await leaf.signal('apiToken', { token: tokens[4], version: 4 });
    const [state] = await eventually(
      () => treeState(h.client, [leafId]),
      ([s]) => s?.info.version === 4,
    );
    expect(state!.token).toBe(tokens[4]);
    expect((await treeState(h.client, [`${rootId}.c1`]))[0]).toMatchObject({
      token: tokens[3],
      info: { version: 3 },
    });

    // The root's next rotation (version 4) brings the rest of the tree to the same token.
    await rotateApiToken(h.client, rootId, tokens[4]!);
    await converged(optedInIds, 4);
  });

  it('skips a child that already completed without failing its parent', async () => {
    const childId = `${rootId}.c${COMPLETED_CHILD}`;
    const child = h.client.workflow.getHandle(childId);
    await child.signal('finish');
    await expect(child.result()).resolves.toBe('finished generation 0');

    await rotateApiToken(h.client, rootId, tokens[5]!);
    const live = optedInIds.filter((id) => !inSubtree(id, COMPLETED_CHILD));
    const states = await converged(live, 5);
    expect(states.find((s) => s.workflowId === rootId)!.info.children).toEqual({
      reached: 3,
      pending: 0,
      excluded: 1,
      skipped: 1,
    });
    expect((await h.client.workflow.getHandle(rootId).describe()).status.name).toBe('RUNNING');
  });

  it('ends a child started while a rotation is in flight with the newest token', async () => {
    // With the worker stopped, both signals land in one workflow task, in this order: the child is
    // started holding the old version and the new one arrives before its start has resolved. The lone
    // node has no other child, so only the catch-up after the start can deliver the new version.
    await stopWorker();
    const root = h.client.workflow.getHandle(rootId);
    const lone = h.client.workflow.getHandle(loneId);
    await root.signal('spawn', spawnedId);
    await root.signal('apiToken', tokens[6]);
    await lone.signal('spawn', loneSpawnedId);
    await lone.signal('apiToken', loneTokens[1]);
    await startWorker();

    const live = [...optedInIds.filter((id) => !inSubtree(id, COMPLETED_CHILD)), spawnedId];
    await converged(live, 6);
    expect((await handedAtStart(spawnedId))?.apiToken?.version).toBe(5);
    await eventually(
      () => treeState(h.client, [loneId, loneSpawnedId]),
      (states) => states.every((s) => s.token === loneTokens[1] && s.info.version === 2),
    );
    expect((await handedAtStart(loneSpawnedId))?.apiToken?.version).toBe(1);
  });

  it('keeps every token out of the raw history of every workflow in the tree', async () => {
    const all = [...ids, spawnedId, loneId, loneSpawnedId];
    let tokenSignals = 0;
    for (const workflowId of all) {
      const events = await rawHistoryEvents(h.rawClient, workflowId);
      for (const secret of [...tokens.slice(1), ...loneTokens, 'stale-token-value']) {
        expect(findSecret(events, secret), `${workflowId} history holds a token`).toEqual([]);
      }
      const signals = events.filter(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'apiToken',
      ).length;
      if (excludedIds.includes(workflowId)) expect(signals, `${workflowId} got a token`).toBe(0);
      tokenSignals += signals;
    }
    // The scan is only meaningful if tokens did travel through history (encrypted).
    expect(tokenSignals).toBeGreaterThan(50);
  });

  /** The handoff a workflow got in its start input, decoded with the codec. */
  async function handedAtStart(workflowId: string): Promise<StatefulHandoff | undefined> {
    const [started] = await rawHistoryEvents(h.rawClient, workflowId);
    const payloads = started?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const decoded = await h.codec.decode(payloads);
    return decoded[1] ? defaultPayloadConverter.fromPayload<StatefulHandoff>(decoded[1]) : undefined;
  }
});

describe('the raw history scan', () => {
  it('does find a token when no codec is configured (so finding none above means something)', async () => {
    const h = await statefulHarness(config);
    const taskQueue = `stateful-nocodec-${randomUUID()}`;
    const rootId = `nocodec-${randomUUID()}`;
    const secret = token(99);
    try {
      const worker = await h.createWorker(taskQueue, { codec: false });
      await worker.runUntil(async () => {
        await startParent(h.rawClient, treeNode, {
          taskQueue,
          workflowId: rootId,
          input: { depth: 1, fanout: 1 },
          apiToken: secret,
        });
        await eventually(
          () => treeState(h.rawClient, [rootId, `${rootId}.c0`]),
          (states: NodeState[]) => states.every((s) => s.token === secret),
        );
        await h.rawClient.workflow.getHandle(rootId).terminate('test over');
      });
      expect(findSecret(await rawHistoryEvents(h.rawClient, rootId), secret).length).toBeGreaterThan(0);
      expect(findSecret(await rawHistoryEvents(h.rawClient, `${rootId}.c0`), secret).length).toBeGreaterThan(
        0,
      );
    } finally {
      await h.close();
    }
  });
});
