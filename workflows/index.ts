// Reference workflows. This file runs inside Temporal's workflow sandbox: no Node built-ins, no I/O.
import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';

const { describeCaller } = proxyActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

/** The smoke test of the secured stack: one workflow, one activity, over mTLS with a JWT. */
export async function smokeWorkflow(name: string): Promise<string> {
  return describeCaller(name);
}

export const releaseSignal = defineSignal('release');
export const statusQuery = defineQuery<string>('status');

/** Waits for `release`; answers `status` meanwhile. Used to show who may query versus start. */
export async function heldWorkflow(): Promise<string> {
  let released = false;
  setHandler(statusQuery, () => (released ? 'released' : 'held'));
  setHandler(releaseSignal, () => {
    released = true;
  });
  await condition(() => released);
  return 'released';
}
