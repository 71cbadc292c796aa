// Workers upgraded under a running tree replay its histories with the new code: every recording in
// test/replay/fixtures (one per earlier release, recorded by test/integration/stateful-replay.test.ts)
// must replay without a determinism error. No server: Worker.runReplayHistories runs in process.
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import {
  COALESCE_ONCE_PATCH_ID,
  HANDOFF_PATCH_ID,
  RELAY_ACTIVITY_PATCH_ID,
  RELAY_PATCH_ID,
} from '../../../src/stateful/stateful-workflow.js';
import { replayFixtureCodec } from '../../replay/codec.js';
import {
  type FixtureHistory,
  fixtureRecordings,
  fixturesDir,
  loadHistories,
  replay,
  replayFailures,
} from '../../replay/replay.js';

// Replay workers log every start and stop at INFO; failures come back as results anyway.
Runtime.install({ logger: new DefaultLogger('WARN') });
const recordings = await fixtureRecordings();

describe('replaying recorded StatefulWorkflow histories with the current code', () => {
  it('has recordings to replay: the previous release and every patch since', () => {
    expect(recordings).toEqual(
      expect.arrayContaining([
        '0.1.0',
        HANDOFF_PATCH_ID,
        COALESCE_ONCE_PATCH_ID,
        RELAY_PATCH_ID,
        RELAY_ACTIVITY_PATCH_ID,
      ]),
    );
  });

  it.each(recordings)(
    'replays every history of %s without a determinism error',
    async (recording) => {
      const histories = await loadHistories(join(fixturesDir, recording), recording);
      expect(histories.length).toBeGreaterThanOrEqual(8);
      const results = await replay(histories);
      expect(results.map((r) => r.name)).toEqual(histories.map((h) => h.name));
      expect(replayFailures(results)).toEqual([]);
    },
    120_000,
  );

  it('does notice a history the code would not produce (so a clean replay above means something)', async () => {
    // The root of the previous release's first run, with its input changed from 2 to 3 children:
    // the code then starts a child the history does not have.
    const [root] = await loadHistories(join(fixturesDir, '0.1.0'), '0.1.0').then((all) =>
      all.filter((h) => h.name.endsWith('/root-run1.json')),
    );
    const tampered = await withInput(root!, (input) => ({ ...input, fanout: 3 }));
    const results = await replay([tampered]);
    expect(replayFailures(results)).toHaveLength(1);
    expect(results[0]?.error?.name).toBe('DeterminismViolationError');
  }, 120_000);
});

/** A copy of `fixture` whose first workflow argument is replaced by `change(input)`, re-encrypted. */
async function withInput(
  fixture: FixtureHistory,
  change: (input: Record<string, unknown>) => Record<string, unknown>,
): Promise<FixtureHistory> {
  const codec = await replayFixtureCodec();
  const history = structuredClone(fixture.history);
  const attributes = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payloads = attributes?.input?.payloads;
  if (!attributes?.input || !payloads?.[0]) throw new Error('the fixture has no start input');
  const [decoded] = await codec.decode([payloads[0]]);
  const input = defaultPayloadConverter.fromPayload<Record<string, unknown>>(decoded!);
  const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(change(input))]);
  attributes.input.payloads = [encoded!, ...payloads.slice(1)];
  return { name: `${fixture.name} (tampered)`, history };
}
