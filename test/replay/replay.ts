// Replays recorded histories against the current StatefulWorkflow, without a server: what a worker
// does when it picks up a workflow that an older release (or this one) started.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PayloadCodec } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { workflowBundleFor } from '../support/workflow-bundles.js';
import { replayFixtureCodec } from './codec.js';
import { type History, historyFromJsonText } from './history-json.js';

export const fixturesDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const replayWorkflowsPath = fileURLToPath(new URL('./workflows.ts', import.meta.url));

export interface FixtureHistory {
  /** `<folder>/<file>` under fixtures/. */
  name: string;
  history: History;
}

/** A replayed history and, when it did not replay cleanly, why. */
export interface ReplayOutcome {
  name: string;
  error?: Error;
}

/** Every `*.json` history in `dir` (one recording), named `<label>/<file>`. */
export async function loadHistories(dir: string, label: string): Promise<FixtureHistory[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      name: `${label}/${file}`,
      history: historyFromJsonText(await readFile(join(dir, file), 'utf8')),
    })),
  );
}

/** The recordings under fixtures/: one folder per release (or patch) that recorded them. */
export async function fixtureRecordings(): Promise<string[]> {
  const entries = await readdir(fixturesDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * Replays `histories` one at a time with the current code and `codec` (default: the fixture codec).
 * Each replays under the workflow id it was recorded with: the tree's nodes derive their children's
 * ids from it.
 */
export async function replay(
  histories: readonly FixtureHistory[],
  codec?: PayloadCodec,
): Promise<ReplayOutcome[]> {
  const bundle = await workflowBundleFor(replayWorkflowsPath);
  const payloadCodec = codec ?? (await replayFixtureCodec());
  const outcomes: ReplayOutcome[] = [];
  for (const { name, history } of histories) {
    const replayed = Worker.runReplayHistories(
      { workflowBundle: bundle, dataConverter: { payloadCodecs: [payloadCodec] } },
      [{ workflowId: recordedWorkflowId(history), history }],
    );
    for await (const result of replayed)
      outcomes.push({ name, ...(result.error ? { error: result.error } : {}) });
  }
  return outcomes;
}

/** `name: error` for every history that did not replay cleanly. */
export function replayFailures(outcomes: readonly ReplayOutcome[]): string[] {
  return outcomes.filter((o) => o.error).map((o) => `${o.name}: ${o.error?.message}`);
}

function recordedWorkflowId(history: History): string {
  const id = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId;
  if (!id)
    throw new Error(
      'the history does not start with a WorkflowExecutionStarted event naming its workflow id',
    );
  return id;
}
