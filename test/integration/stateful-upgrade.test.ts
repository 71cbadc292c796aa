// An upgrade as production does it: a tree started and rotated by workers of release 0.1.0 (the
// frozen copy in test/replay/release-0.1.0), whose workers are then replaced by workers of the current
// code. The tree must keep running (no determinism error), finish the rotation that was in flight,
// and switch to handoff and ack.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statefulWorkflowActivities } from '../../src/stateful/handoff-relay.js';
import { API_TOKEN_HANDOFF_SIGNAL, RELAY_HANDOFF_ACTIVITY } from '../../src/stateful/messages.js';
import { type FixtureHistory, replay, replayFailures, replayWorkflowsPath } from '../replay/replay.js';
import { devConfig } from '../support/stack.js';
import { workflowBundleFor } from '../support/workflow-bundles.js';
import {
  eventually,
  type NodeState,
  rawHistoryEvents,
  type StatefulHarness,
  statefulHarness,
  treeState,
} from './fixtures/stateful/harness.js';

const releaseWorkflowsPath = fileURLToPath(new URL('../replay/release-0.1.0/workflows.ts', import.meta.url));
const config = devConfig();

describe('a tree started by release 0.1.0 workers, after the workers are upgraded', () => {
  const rootQueue = `stateful-upgrade-root-${randomUUID()}`;
  const childQueue = `stateful-upgrade-children-${randomUUID()}`;
  const rootId = `upgrade-${randomUUID()}`;
  // Opted in: the root (on rootQueue), c0 and its two leaves (on childQueue). c1 is excluded.
  const optedIn = [rootId, `${rootId}.c0`, `${rootId}.c0.c0`, `${rootId}.c0.c1`];
  const excluded = [`${rootId}.c1`, `${rootId}.c1.c0`, `${rootId}.c1.c1`];
  const tokens = Array.from({ length: 5 }, (_, i) => `upgrade-tok${i}-${randomUUID()}`);
  const running = new Map<string, { worker: Worker; done: Promise<void> }>();
  let h: StatefulHarness;
  let releaseBundle: WorkflowBundle;
  let currentBundle: WorkflowBundle;

  const startWorker = async (taskQueue: string, workflowBundle: WorkflowBundle) => {
    const worker = await Worker.create({
      connection: h.workerConnection,
      namespace: h.namespace,
      taskQueue,
      workflowBundle,
      activities: statefulWorkflowActivities,
      dataConverter: { payloadCodecs: [h.codec] },
      stickyQueueScheduleToStartTimeout: '1 second',
    });
    running.set(taskQueue, { worker, done: worker.run() });
  };
  const stopWorker = async (taskQueue: string) => {
    const entry = running.get(taskQueue);
    running.delete(taskQueue);
    entry?.worker.shutdown();
    await entry?.done;
  };
  const settled = (token: string, check: (states: NodeState[]) => boolean = () => true) =>
    eventually(
      () => treeState(h.client, optedIn),
      (states) =>
        states.every(
          (s) =>
            s.token === token && s.info.children.pending === 0 && (s.info.children.unconfirmed ?? 0) === 0,
        ) &&
        new Set(states.map((s) => s.info.version)).size === 1 &&
        check(states),
      { timeoutMs: 90_000 },
    );
  const rotate = (n: number) => h.client.workflow.getHandle(rootId).signal('apiToken', tokens[n]);

  beforeAll(async () => {
    h = await statefulHarness(config);
    // Two different bundles on purpose: the release's workflow code and today's.
    releaseBundle = await workflowBundleFor(releaseWorkflowsPath);
    currentBundle = await workflowBundleFor(replayWorkflowsPath);
  });

  afterAll(async () => {
    await h?.client.workflow
      .getHandle(rootId)
      .terminate('test over')
      .catch(() => {});
    for (const id of [`${rootId}.c0`, `${rootId}.c1`]) {
      await h?.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => {});
    }
    for (const taskQueue of [...running.keys()]) await stopWorker(taskQueue);
    await h?.close();
  });

  it('keeps running, finishes the rotation in flight, and switches to handoff and ack', async () => {
    await startWorker(rootQueue, releaseBundle);
    await startWorker(childQueue, releaseBundle);
    await h.client.workflow.start('replayTreeNode', {
      taskQueue: rootQueue,
      workflowId: rootId,
      args: [
        { depth: 2, fanout: 2, excluded: [1], abandonChildren: true, childTaskQueue: childQueue },
        { apiToken: { token: tokens[0], version: 1 } },
      ],
    });
    await settled(tokens[0]!);
    await rotate(1);
    // 0.1.0's counter: the rotation is version 2 everywhere.
    await settled(tokens[1]!, (states) => states[0]!.info.version === 2);

    // The children's worker goes first: the root's next envelope is accepted by the server but not
    // taken before the upgrade, and the upgraded child refuses envelopes on the public signal.
    await stopWorker(childQueue);
    await rotate(2);
    await eventually(
      () => treeState(h.client, [rootId]),
      ([root]) => root!.token === tokens[2] && root!.info.children.pending === 0,
    );
    await stopWorker(rootQueue);
    await startWorker(rootQueue, currentBundle);
    await startWorker(childQueue, currentBundle);

    // The upgraded child's ack wakes the upgraded root, which hands the token over again, confirmed.
    const caughtUp = await settled(tokens[2]!, (states) => states[0]!.info.children.reached === 1);
    expect(caughtUp[0]!.info.version).toBe(3);

    // From here on: hybrid-clock versions, handoffs, acks.
    const before = Date.now();
    await rotate(3);
    const upgraded = await settled(tokens[3]!, (states) => states[1]!.info.children.reached === 2);
    expect(upgraded[0]!.info.version).toBeGreaterThanOrEqual(before - 60_000);
    expect(upgraded[0]!.info.children).toEqual({
      reached: 1,
      unconfirmed: 0,
      pending: 0,
      excluded: 1,
      skipped: 0,
    });

    // A new run of the root is current from its start and still reaches the children of the first.
    const firstRun = (await h.client.workflow.getHandle(rootId).describe()).runId;
    await h.client.workflow.getHandle(rootId).signal('restart');
    await eventually(
      () => h.client.workflow.getHandle(rootId).describe(),
      (d) => d.runId !== firstRun && d.status.name === 'RUNNING',
    );
    await rotate(4);
    await settled(tokens[4]!, (states) => states[0]!.info.children.reached === 1);
    for (const s of await treeState(h.client, excluded)) expect(s.token).toBeNull();

    // No workflow task failed on any node (a determinism error fails them), the upgraded runs recorded
    // the patch marker, and the root's first run handed tokens down by the reserved signal after it.
    const histories: FixtureHistory[] = [];
    for (const workflowId of [...optedIn, ...excluded]) {
      const events = await rawHistoryEvents(h.rawClient, workflowId);
      expect(
        events.filter((e) => e.workflowTaskFailedEventAttributes),
        `${workflowId} failed a workflow task`,
      ).toEqual([]);
      histories.push({ name: workflowId, history: { events } });
    }
    const firstRunEvents = await rawHistoryEvents(h.rawClient, rootId, firstRun);
    histories.push({ name: `${rootId} (first run)`, history: { events: firstRunEvents } });
    const marker = firstRunEvents.findIndex(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_patch',
    );
    // A handoff goes out relayed by the worker (the relay activity, or a local activity's marker on
    // the release before) or, where it cannot, as a workflow-to-workflow signal.
    const firstHandoff = firstRunEvents.findIndex(
      (e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === RELAY_HANDOFF_ACTIVITY ||
        e.markerRecordedEventAttributes?.markerName === 'core_local_activity' ||
        e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === API_TOKEN_HANDOFF_SIGNAL,
    );
    const lastEnvelope = firstRunEvents.findLastIndex(
      (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'apiToken',
    );
    expect(lastEnvelope).toBeGreaterThan(0);
    expect(marker).toBeGreaterThan(lastEnvelope);
    expect(firstHandoff).toBeGreaterThan(marker);

    // And the mixed histories (0.1.0 up to the upgrade, current after) replay on the current code.
    expect(replayFailures(await replay(histories, h.codec))).toEqual([]);
  }, 240_000);
});
