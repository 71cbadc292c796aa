import { randomUUID } from 'node:crypto';
import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { defaultPayloadConverter, type PayloadCodec } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateApiToken, startParent } from '../../src/stateful/client.js';
import { apiTokenFingerprint } from '../../src/stateful/fingerprint.js';
import {
  API_TOKEN_ACK_SIGNAL,
  API_TOKEN_HANDOFF_SIGNAL,
  API_TOKEN_HANDOFF_UPDATE,
  RELAY_HANDOFF_ACTIVITY,
  type StatefulHandoff,
} from '../../src/stateful/messages.js';
import { DEFAULT_COALESCE_ROTATIONS_MS } from '../../src/stateful/stateful-workflow.js';
import { devConfig } from '../support/stack.js';
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

const config = devConfig();
const FANOUT = 5;
const DEPTH = 2;
const EXCLUDED_CHILD = 2;
const COMPLETED_CHILD = 4;
/** A version no genuine rotation gets for the next 30,000 years: what a pin attempt sends. */
const PIN_VERSION = 1e15;

const token = (n: number) => `tok${n}-${randomUUID()}`;
const tokens = Array.from({ length: 16 }, (_, i) => token(i));

/** Every node holds `expected`, all at one version, owes nothing and has every child's ack. */
function settledOn(states: NodeState[], expected: string): boolean {
  return (
    states.every(
      (s) => s.token === expected && s.info.children.pending === 0 && s.info.children.unconfirmed === 0,
    ) && new Set(states.map((s) => s.info.version)).size === 1
  );
}

/** Resolves once the workflow completed a workflow task after its latest signal (it was handled). */
async function signalHandled(h: StatefulHarness, workflowId: string): Promise<void> {
  await eventually(
    () => rawHistoryEvents(h.rawClient, workflowId),
    (events) => {
      const signalled = events.findLast((e) => e.workflowExecutionSignaledEventAttributes);
      const completed = events.findLast((e) => e.workflowTaskCompletedEventAttributes);
      return Number(completed?.eventId ?? 0) > Number(signalled?.eventId ?? 0);
    },
  );
}

/** Sends a signal the cluster may refuse (reserved names): 'refused' when it did, else 'accepted'. */
async function forge(h: StatefulHarness, workflowId: string, name: string, arg: unknown) {
  return h.client.workflow
    .getHandle(workflowId)
    .signal(name, arg)
    .then(
      () => 'accepted' as const,
      () => 'refused' as const,
    );
}

/** A handoff that reached a child's history: the reserved signal, or the reserved update it accepted. */
function isHandoff(e: Awaited<ReturnType<typeof rawHistoryEvents>>[number]): boolean {
  return (
    e.workflowExecutionSignaledEventAttributes?.signalName === API_TOKEN_HANDOFF_SIGNAL ||
    e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ===
      API_TOKEN_HANDOFF_UPDATE
  );
}

/** Sends the handoff update as an outside caller would: the workflow takes it, rejects it, or the server refuses. */
async function forgeUpdate(h: StatefulHarness, workflowId: string, arg: unknown) {
  return h.client.workflow
    .getHandle(workflowId)
    .executeUpdate(API_TOKEN_HANDOFF_UPDATE, { args: [arg] })
    .then(
      () => 'taken' as const,
      (err: unknown) =>
        err instanceof WorkflowUpdateFailedError ? ('rejected' as const) : ('refused' as const),
    );
}

describe('a StatefulWorkflow tree of 1 root + 5 children + 25 grandchildren, one child excluded', () => {
  const taskQueue = `stateful-tree-${randomUUID()}`;
  const rootId = `tree-${randomUUID()}`;
  const ids = treeIds(rootId, FANOUT, DEPTH);
  const inSubtree = (id: string, child: number) =>
    id === `${rootId}.c${child}` || id.startsWith(`${rootId}.c${child}.`);
  const excludedIds = ids.filter((id) => inSubtree(id, EXCLUDED_CHILD));
  const optedInIds = ids.filter((id) => !inSubtree(id, EXCLUDED_CHILD));
  const spawnedId = `${rootId}.spawned`;
  const liveIds = () => [...optedInIds.filter((id) => !inSubtree(id, COMPLETED_CHILD)), spawnedId];
  const loneId = `lone-${randomUUID()}`;
  const loneSpawnedId = `${loneId}.spawned`;
  const loneTokens = [token(20), token(21)];
  const leafId = `${rootId}.c0.c0`;
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
  /** Waits until every workflow in `nodes` holds `tokens[n]`, all at one version, fully confirmed. */
  const converged = (nodes: string[], n: number, options: { intervalMs?: number } = {}) =>
    eventually(
      () => treeState(h.client, nodes),
      (states) => settledOn(states, tokens[n]!),
      options,
    );
  const rotateRoot = (n: number) => h.client.workflow.getHandle(rootId).signal('apiToken', tokens[n]);

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
    const version = root.info.version;
    expect(root.info).toMatchObject({
      workflowType: 'treeNode',
      parentWorkflowId: null,
      children: { reached: 4, unconfirmed: 0, pending: 0, excluded: 1, skipped: 0 },
    });
    // A start with the token in its input counts as sent and confirmed.
    expect(root.info.childList).toEqual(
      Array.from({ length: FANOUT }, (_, i) => ({
        workflowId: `${rootId}.c${i}`,
        workflowType: 'treeNode',
        propagate: i !== EXCLUDED_CHILD,
        state: 'running',
        sentVersion: i === EXCLUDED_CHILD ? 0 : version,
        confirmedVersion: i === EXCLUDED_CHILD ? 0 : version,
      })),
    );
    expect(states.find((s) => s.workflowId === `${rootId}.c0`)!.info.parentWorkflowId).toBe(rootId);
    expect(states.find((s) => s.workflowId === leafId)!.info.parentWorkflowId).toBe(`${rootId}.c0`);

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

  it('ends every workflow with the second of two quick rotations, at one newer version', async () => {
    const [before] = await treeState(h.client, [rootId]);
    const root = h.client.workflow.getHandle(rootId);
    // One through the helper, one through the plain Temporal API by signal name, back to back.
    await rotateApiToken(root, tokens[2]!);
    await root.signal('apiToken', tokens[3]);
    const states = await converged(optedInIds, 3);
    expect(states[0]!.info.version).toBeGreaterThan(before!.info.version + 1);
    expect(new Set(states.map((s) => s.info.fingerprint))).toEqual(
      new Set([apiTokenFingerprint(tokens[3]!)]),
    );
  });

  it("hands tokens down through its worker's connection by update: no workflow-to-workflow handoff in any parent's history", async () => {
    // The harness's worker holds token.handoff and runs startWorker's activities, so every parent's
    // handoff went out as the relay activity, and reached the child as the reserved update.
    const parents = optedInIds.filter((id) => optedInIds.some((other) => other.startsWith(`${id}.`)));
    for (const parent of parents) {
      const events = await rawHistoryEvents(h.rawClient, parent);
      const relayed = events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === RELAY_HANDOFF_ACTIVITY,
      );
      const signalled = events.filter(
        (e) =>
          e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === API_TOKEN_HANDOFF_SIGNAL,
      );
      expect({ parent, relayed: relayed.length > 0, signalled: signalled.length }).toEqual({
        parent,
        relayed: true,
        signalled: 0,
      });
    }
    // A child with children of its own and a leaf both took the update, and no handoff signal.
    for (const childId of [`${rootId}.c0`, leafId]) {
      const child = await rawHistoryEvents(h.rawClient, childId);
      const updates = child.filter(
        (e) =>
          e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ===
          API_TOKEN_HANDOFF_UPDATE,
      );
      const signals = child.filter(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === API_TOKEN_HANDOFF_SIGNAL,
      );
      expect({ childId, updates: updates.length > 0, signals: signals.length }).toEqual({
        childId,
        updates: true,
        signals: 0,
      });
      // Sent by the worker (its identity), not by the server on a parent's behalf.
      expect(
        updates.at(-1)?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity,
      ).toBe(worker.options.identity);
    }
  });

  it('regression: rotating a subtree and then the root ends the whole tree on the root token', async () => {
    // 0.1.0 stamped both rotations held + 1: the root reported "reached" at the same version as the
    // subtree, which held a different token. Now the later rotation has the higher version.
    const subtree = optedInIds.filter((id) => inSubtree(id, 0));
    const rest = optedInIds.filter((id) => !inSubtree(id, 0));
    await h.client.workflow.getHandle(`${rootId}.c0`).signal('apiToken', tokens[4]);
    const [rotatedSubtree, untouched] = await Promise.all([converged(subtree, 4), converged(rest, 3)]);
    // Two different tokens, two different versions.
    expect(rotatedSubtree[0]!.info.version).toBeGreaterThan(untouched[0]!.info.version);

    await rotateRoot(5);
    const states = await converged(optedInIds, 5);
    expect(states[0]!.info.version).toBeGreaterThan(rotatedSubtree[0]!.info.version);
    expect(states.find((s) => s.workflowId === rootId)!.info.children).toMatchObject({ reached: 4 });
  });

  it('regression: a pin attempt with version 1e15 on the public apiToken signal is refused', async () => {
    const [before] = await treeState(h.client, [leafId]);
    // The public signal takes raw tokens only; 0.1.0 took this envelope and kept it for good.
    await h.client.workflow
      .getHandle(leafId)
      .signal('apiToken', { token: 'pin-public', version: PIN_VERSION });
    await signalHandled(h, leafId);
    const [after] = await treeState(h.client, [leafId]);
    expect(after).toMatchObject({ token: tokens[5], info: { version: before!.info.version } });

    // The next rotation still reaches the leaf.
    await rotateRoot(6);
    await converged(optedInIds, 6);
  });

  it('regression: a pin attempt with version 1e15 on the reserved handoff signal is ignored; forged acks are refused', async () => {
    // The harness's credentials hold token.handoff, as a worker's do to relay its workflows'
    // handoffs, so the server takes these; the workflow refuses the version as more than an hour
    // ahead of its time. (Callers without the grant are refused: authorization.test.ts.)
    // The update form first, while the leaf is idle: the validator rejects the pin, so nothing of it reaches history.
    const leafEvents = async () => (await rawHistoryEvents(h.rawClient, leafId)).length;
    const eventsBefore = await leafEvents();
    const pinUpdate = await forgeUpdate(h, leafId, { token: 'pin-update', version: PIN_VERSION });
    expect(await leafEvents()).toBe(eventsBefore);
    const handoff = await forge(h, leafId, API_TOKEN_HANDOFF_SIGNAL, {
      token: 'pin-reserved',
      version: PIN_VERSION,
    });
    // And a stale one: an older version never overwrites the newer token.
    const stale = await forge(h, leafId, API_TOKEN_HANDOFF_SIGNAL, { token: 'stale-reserved', version: 1 });
    // A forged ack must not make the root count a child as having what it does not have: acks stay
    // workflow-to-workflow only, whatever the caller holds.
    const ack = await forge(h, rootId, API_TOKEN_ACK_SIGNAL, {
      workflowId: `${rootId}.c0`,
      version: PIN_VERSION,
      fingerprint: 'forged',
    });
    const stranger = await forge(h, rootId, API_TOKEN_ACK_SIGNAL, {
      workflowId: 'stranger',
      version: 1,
      fingerprint: null,
    });
    expect({ handoff, stale, ack, stranger, pinUpdate }).toEqual({
      handoff: 'accepted',
      stale: 'accepted',
      ack: 'refused',
      stranger: 'refused',
      pinUpdate: 'rejected',
    });
    await signalHandled(h, leafId);
    const states = await converged(optedInIds, 6);
    expect(states.find((s) => s.workflowId === leafId)!.token).toBe(tokens[6]);
    const root = states.find((s) => s.workflowId === rootId)!;
    expect(root.info.childList.map((c) => c.workflowId)).not.toContain('stranger');
    expect(root.info.childList[0]!.confirmedVersion).toBe(root.info.version);

    // And the next rotation reaches the leaf and is confirmed from below, not by the forgery.
    await rotateRoot(7);
    const next = await converged(optedInIds, 7);
    const nextRoot = next.find((s) => s.workflowId === rootId)!;
    expect(nextRoot.info.childList[0]!.confirmedVersion).toBe(nextRoot.info.version);
  });

  it('skips a child that already completed without failing its parent', async () => {
    const childId = `${rootId}.c${COMPLETED_CHILD}`;
    const child = h.client.workflow.getHandle(childId);
    await child.signal('finish');
    await expect(child.result()).resolves.toBe('finished generation 0');

    await rotateRoot(8);
    const live = optedInIds.filter((id) => !inSubtree(id, COMPLETED_CHILD));
    const states = await converged(live, 8);
    expect(states.find((s) => s.workflowId === rootId)!.info.children).toEqual({
      reached: 3,
      unconfirmed: 0,
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
    const [before] = await treeState(h.client, [rootId, loneId]);
    await stopWorker();
    const root = h.client.workflow.getHandle(rootId);
    const lone = h.client.workflow.getHandle(loneId);
    await root.signal('spawn', spawnedId);
    await root.signal('apiToken', tokens[9]);
    await lone.signal('spawn', loneSpawnedId);
    await lone.signal('apiToken', loneTokens[1]);
    await startWorker();

    const states = await converged(liveIds(), 9);
    expect((await handedAtStart(spawnedId))?.apiToken?.version).toBe(before!.info.version);
    expect(states[0]!.info.version).toBeGreaterThan(before!.info.version);
    const lones = await eventually(
      () => treeState(h.client, [loneId, loneSpawnedId]),
      (s) => settledOn(s, loneTokens[1]!),
    );
    expect((await handedAtStart(loneSpawnedId))?.apiToken?.version).toBeLessThan(lones[0]!.info.version);
  });

  it('regression: a burst of five rotations travels the tree once, as its newest token', async () => {
    const live = liveIds();
    const handoffsBefore = await handoffCounts(live);
    // Both from the moment the server accepted the (last) rotation until every node holds it,
    // confirmed: sending five signals one after the other takes time of its own.
    await rotateRoot(10);
    let accepted = Date.now();
    await converged(live, 10, { intervalMs: 50 });
    const oneMs = Date.now() - accepted;
    const handoffsAfterOne = await handoffCounts(live);

    const burstStarted = Date.now();
    for (const n of [11, 12, 13, 14, 15]) await rotateRoot(n);
    accepted = Date.now();
    await converged(live, 15, { intervalMs: 50 });
    const burstMs = Date.now() - accepted;
    const handoffsAfterBurst = await handoffCounts(live);
    process.stderr.write(
      `[burst] one rotation settled in ${oneMs} ms; five back to back settled ${burstMs} ms after the last ` +
        `(${Date.now() - burstStarted} ms after the first)\n`,
    );

    // Each node below the root got one handoff for the single rotation. Five rotations sent within
    // one coalescing window (500 ms) travel as one: the root hands only the newest down, once. (Before
    // the fix, each rotation joining the window handed its token down at once, and every node got
    // two.) On a machine too slow to send five signals in one window, a second wave is correct.
    const sendMs = accepted - burstStarted;
    const burstHandoffs = sendMs < DEFAULT_COALESCE_ROTATIONS_MS ? 1 : 2;
    for (const id of live.filter((id) => id !== rootId)) {
      expect(handoffsAfterOne.get(id)! - handoffsBefore.get(id)!, id).toBe(1);
      const received = handoffsAfterBurst.get(id)! - handoffsAfterOne.get(id)!;
      expect(received, `${id} (burst sent in ${sendMs} ms)`).toBeLessThanOrEqual(burstHandoffs);
      expect(received, id).toBeGreaterThanOrEqual(1);
    }
    // How long it takes is the benchmark's to measure (npm run bench, measurement 4: burst); the
    // counts above are what makes it take about the time of one rotation.
  });

  it('keeps every token out of the raw history of every workflow in the tree', async () => {
    const all = [...ids, spawnedId, loneId, loneSpawnedId];
    let handoffs = 0;
    for (const workflowId of all) {
      const events = await rawHistoryEvents(h.rawClient, workflowId);
      for (const secret of [
        ...tokens.slice(1),
        ...loneTokens,
        'pin-public',
        'pin-reserved',
        'pin-update',
        'stale-reserved',
      ]) {
        expect(findSecret(events, secret), `${workflowId} history holds a token`).toEqual([]);
      }
      const signals = events.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName);
      const received = events.filter(isHandoff).length;
      if (excludedIds.includes(workflowId)) {
        expect(received, `${workflowId} got a token`).toBe(0);
        expect(
          signals.filter((name) => name === 'apiToken'),
          `${workflowId} got a token`,
        ).toEqual([]);
      }
      handoffs += received;
    }
    // The scan is only meaningful if tokens did travel through history (encrypted).
    expect(handoffs).toBeGreaterThan(50);
  });

  /** The handoff a workflow got in its start input, decoded with the codec. */
  async function handedAtStart(workflowId: string): Promise<StatefulHandoff | undefined> {
    const [started] = await rawHistoryEvents(h.rawClient, workflowId);
    const payloads = started?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const decoded = await h.codec.decode(payloads);
    return decoded[1] ? defaultPayloadConverter.fromPayload<StatefulHandoff>(decoded[1]) : undefined;
  }

  /** How many handoff signals each workflow has received so far. */
  async function handoffCounts(workflowIds: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const workflowId of workflowIds) {
      const events = await rawHistoryEvents(h.rawClient, workflowId);
      counts.set(workflowId, events.filter(isHandoff).length);
    }
    return counts;
  }
});

describe('confirmation: reached means every reader of the child sees the token', () => {
  const rootQueue = `stateful-ack-root-${randomUUID()}`;
  const childQueue = `stateful-ack-children-${randomUUID()}`;
  const rootId = `ack-${randomUUID()}`;
  const childIds = treeIds(rootId, 3, 1).slice(1);
  const ackTokens = [token(30), token(31), token(32)];
  let h: StatefulHarness;
  let rootWorker: Worker;
  let rootRunning: Promise<void>;
  let childWorker: Worker | undefined;
  let childRunning: Promise<void> | undefined;

  const startChildWorker = async () => {
    childWorker = await h.createWorker(childQueue);
    childRunning = childWorker.run();
  };
  const stopChildWorker = async () => {
    childWorker?.shutdown();
    await childRunning;
    childWorker = undefined;
  };
  const rootInfo = () => treeState(h.client, [rootId]).then(([s]) => s!);

  beforeAll(async () => {
    h = await statefulHarness(config);
    rootWorker = await h.createWorker(rootQueue);
    rootRunning = rootWorker.run();
    await startChildWorker();
  });

  afterAll(async () => {
    await h?.client.workflow
      .getHandle(rootId)
      .terminate('test over')
      .catch(() => {});
    await stopChildWorker();
    rootWorker?.shutdown();
    await rootRunning;
    await h?.close();
  });

  it('counts a child reached once its handoff is in its history: no query of the child answers the older token after that', async () => {
    const root = await startParent(h.client, treeNode, {
      taskQueue: rootQueue,
      workflowId: rootId,
      input: { depth: 1, fanout: 3, childTaskQueue: childQueue },
      apiToken: ackTokens[0],
    });
    await eventually(rootInfo, (s) => s.info.children.reached === 3);

    // The children's worker is down: the server accepts the handoffs, nobody has run them yet.
    await stopChildWorker();
    await root.signal('apiToken', ackTokens[1]);
    const sent = await eventually(
      rootInfo,
      (s) => s.token === ackTokens[1] && s.info.children.pending === 0 && s.info.children.reached === 3,
    );
    expect(sent.info.children).toEqual({ reached: 3, unconfirmed: 0, pending: 0, excluded: 0, skipped: 0 });
    for (const child of sent.info.childList) {
      expect(child.sentVersion).toBe(sent.info.version);
      expect(child.confirmedVersion).toBe(sent.info.version);
    }
    // What makes that true: Temporal answers a query only after the workflow task that processes
    // every event before it. The very first answer each child gives once its worker is back is the
    // new token, never the one it held when the root counted it reached.
    const firstAnswers = childIds.map((id) =>
      eventually(
        () => h.client.workflow.getHandle(id).query<string | null>('apiToken'),
        () => true,
      ),
    );
    await startChildWorker();
    expect(await Promise.all(firstAnswers)).toEqual(childIds.map(() => ackTokens[1]));
    await eventually(
      () => treeState(h.client, [rootId, ...childIds]),
      (states) => settledOn(states, ackTokens[1]!),
    );

    // Again with the children down: the root completes once the server accepted its handoffs.
    await stopChildWorker();
    await root.signal('apiToken', ackTokens[2]);
    await eventually(rootInfo, (s) => s.token === ackTokens[2] && s.info.children.reached === 3);
    const finishing = Date.now();
    await root.signal('finish');
    await expect(root.result()).resolves.toBe('finished generation 0');
    expect(Date.now() - finishing).toBeLessThan(15_000);
  });

  it('ignores a failed ack to a parent that already closed', async () => {
    const parentId = `ack-closed-${randomUUID()}`;
    const childId = `${parentId}.c0`;
    const parent = await startParent(h.client, treeNode, {
      taskQueue: rootQueue,
      workflowId: parentId,
      input: { depth: 1, fanout: 1, abandonChildren: true },
      apiToken: ackTokens[0],
    });
    try {
      await eventually(
        () => treeState(h.client, [childId]),
        ([child]) => child!.token === ackTokens[0],
      );
      await parent.signal('finish');
      await parent.result();
      // The child outlives its parent (ABANDON). An envelope on the public signal is refused and
      // answered with an ack, which the server cannot deliver to a closed parent.
      const child = h.client.workflow.getHandle(childId);
      await child.signal('apiToken', { token: 'envelope', version: 5 });
      await eventually(
        () => rawHistoryEvents(h.rawClient, childId),
        (events) => events.some((e) => e.signalExternalWorkflowExecutionFailedEventAttributes),
      );
      await child.signal('apiToken', ackTokens[2]);
      const [after] = await eventually(
        () => treeState(h.client, [childId]),
        ([s]) => s!.token === ackTokens[2],
      );
      expect(after!.info.parentWorkflowId).toBe(parentId);
      const events = await rawHistoryEvents(h.rawClient, childId);
      expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
      expect((await child.describe()).status.name).toBe('RUNNING');
    } finally {
      await h.client.workflow
        .getHandle(childId)
        .terminate('test over')
        .catch(() => {});
    }
  });
});

/**
 * A codec that only relabels payloads as encrypted and leaves their bytes readable: it gets a token
 * past a server that refuses plain-text tokens, into history as plain text, as a broken codec would.
 */
const labelOnlyCodec: PayloadCodec = {
  async encode(payloads) {
    return payloads.map((p) => ({
      metadata: {
        ...p.metadata,
        encoding: new TextEncoder().encode('binary/encrypted'),
        inner: p.metadata?.encoding ?? new Uint8Array(),
      },
      data: p.data ?? new Uint8Array(),
    }));
  },
  async decode(payloads) {
    return payloads.map((p) => {
      const { inner, ...metadata } = p.metadata ?? {};
      return {
        metadata: { ...metadata, encoding: inner ?? new Uint8Array() },
        data: p.data ?? new Uint8Array(),
      };
    });
  },
};

describe('the raw history scan', () => {
  it('does find a token a codec left readable (so finding none above means something)', async () => {
    const h = await statefulHarness(config);
    const taskQueue = `stateful-readable-${randomUUID()}`;
    const rootId = `readable-${randomUUID()}`;
    const secret = token(99);
    const client = new Client({
      connection: h.client.connection,
      namespace: h.namespace,
      dataConverter: { payloadCodecs: [labelOnlyCodec] },
    });
    try {
      const worker = await h.createWorker(taskQueue, { codec: labelOnlyCodec });
      await worker.runUntil(async () => {
        await startParent(client, treeNode, {
          taskQueue,
          workflowId: rootId,
          input: { depth: 1, fanout: 1 },
          apiToken: secret,
          // The client's guard sees through the relabelling; the server cannot.
          allowPlaintextToken: true,
        });
        await eventually(
          () => treeState(client, [rootId, `${rootId}.c0`]),
          (states: NodeState[]) => states.every((s) => s.token === secret),
        );
        await client.workflow.getHandle(rootId).terminate('test over');
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
