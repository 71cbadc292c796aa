// Reference workflows. This file runs inside Temporal's workflow sandbox: no Node built-ins, no I/O.
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';

const { describeCaller } = proxyActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

/** The smoke test of the secured stack: one workflow, one activity, over mTLS with a JWT. */
export async function smokeWorkflow(name: string): Promise<string> {
  return describeCaller(name);
}
