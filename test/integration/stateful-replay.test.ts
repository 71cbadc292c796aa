// Histories written by the current code replay on the current code, and the scenario that produced
// test/replay/fixtures/0.1.0 still runs. With TOKENRELAY_RECORD_REPLAY_FIXTURES=<folder> the recording
// is kept as test/replay/fixtures/<folder>, the fixture the next release must replay.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_TOKEN_ACK_SIGNAL,
  API_TOKEN_HANDOFF_SIGNAL,
  API_TOKEN_HANDOFF_UPDATE,
  RELAY_HANDOFF_ACTIVITY,
} from '../../src/stateful/messages.js';
import {
  COALESCE_ONCE_PATCH_ID,
  HANDOFF_PATCH_ID,
  RELAY_ACTIVITY_PATCH_ID,
  RELAY_PATCH_ID,
} from '../../src/stateful/stateful-workflow.js';
import { fixturesDir, loadHistories, replay, replayFailures } from '../replay/replay.js';
import { devConfig } from '../support/stack.js';
import { type StatefulHarness, statefulHarness } from './fixtures/stateful/harness.js';
import { recordReplayHistories } from './fixtures/stateful/record-histories.js';

const keepAs = process.env.TOKENRELAY_RECORD_REPLAY_FIXTURES;

describe('histories of the current StatefulWorkflow', () => {
  let h: StatefulHarness;
  let outDir: string;

  beforeAll(async () => {
    h = await statefulHarness(devConfig());
    outDir = keepAs ? join(fixturesDir, keepAs) : await mkdtemp(join(tmpdir(), 'tokenrelay-replay-'));
  });

  afterAll(async () => {
    await h?.close();
    if (!keepAs && outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('are recorded from the reference scenario and replay without a determinism error', async () => {
    const recorded = await recordReplayHistories(h, { outDir, prefix: `replay-${randomUUID().slice(0, 8)}` });
    expect(recorded.map((r) => r.name)).toEqual([
      'root-run1',
      'root-run2',
      'root-run3',
      'c0',
      'c0.c0-leaf',
      'c0.c1-completed',
      'c1-excluded',
      'spawned',
    ]);
    if (keepAs) {
      // The fixtures are committed: format them as `biome check` wants them.
      await promisify(execFile)(join('node_modules', '.bin', 'biome'), ['format', '--write', outDir]);
    }
    const histories = await loadHistories(outDir, keepAs ?? 'current');

    // The current behaviour is what was recorded: the patch marker from the first workflow task on,
    // tokens handed down by the worker's relay (the reserved update sent over its connection), and
    // acks back up only where one was refused.
    for (const { name, history } of histories) {
      const events = history.events ?? [];
      const patch = events.findIndex((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
      const firstTask = events.findIndex((e) => e.workflowTaskCompletedEventAttributes);
      expect(patch, `${name} patch marker`).toBe(firstTask + 1);
      const sent = new Set(
        events.flatMap((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName ?? []),
      );
      for (const signalName of sent)
        expect([API_TOKEN_HANDOFF_SIGNAL, API_TOKEN_ACK_SIGNAL]).toContain(signalName);
    }
    const eventsOf = (file: string) =>
      histories.find((x) => x.name.endsWith(`/${file}.json`))!.history.events!;
    const sentBy = (file: string) =>
      eventsOf(file).flatMap(
        (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName ?? [],
      );
    const relayedBy = (file: string) =>
      eventsOf(file).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === RELAY_HANDOFF_ACTIVITY,
      );
    for (const parent of ['root-run1', 'c0']) {
      expect(relayedBy(parent).length, `${parent} relays`).toBeGreaterThan(0);
      expect(sentBy(parent), parent).not.toContain(API_TOKEN_HANDOFF_SIGNAL);
    }
    // The relay handed the token over by update, to a child with children and to a leaf.
    const updatesTakenBy = (file: string) =>
      eventsOf(file).filter(
        (e) =>
          e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ===
          API_TOKEN_HANDOFF_UPDATE,
      );
    for (const child of ['c0', 'c0.c0-leaf']) {
      expect(updatesTakenBy(child).length, `${child} handoff updates`).toBeGreaterThan(0);
    }
    // Handoffs taken are not acked (delivery counts as confirmed); a refused envelope is answered.
    expect(sentBy('c0')).not.toContain(API_TOKEN_ACK_SIGNAL);
    expect(sentBy('c0.c0-leaf')).toContain(API_TOKEN_ACK_SIGNAL);
    // The burst joined a coalescing window, so the recording covers that path (and its patch).
    const patchesOf = (file: string) =>
      eventsOf(file).flatMap((e) => {
        const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
        return data ? [(JSON.parse(Buffer.from(data).toString()) as { id: string }).id] : [];
      });
    expect(patchesOf('root-run2')).toEqual(
      expect.arrayContaining([
        HANDOFF_PATCH_ID,
        RELAY_PATCH_ID,
        COALESCE_ONCE_PATCH_ID,
        RELAY_ACTIVITY_PATCH_ID,
      ]),
    );
    expect(patchesOf('root-run1')).toEqual(expect.arrayContaining([RELAY_PATCH_ID, RELAY_ACTIVITY_PATCH_ID]));

    expect(replayFailures(await replay(histories))).toEqual([]);
  }, 300_000);
});
