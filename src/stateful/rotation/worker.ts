// A worker for the built-in rotator (node side): the `apiTokenRotation` workflow and its activities
// on their own task queue, under an identity that may rotate but not read tokens.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from '@temporalio/worker';
import { type RunWorkerOptions, type SupervisedWorker, startWorker } from '../../temporal/run-worker.js';
import { type ApiTokenRotationActivityOptions, createApiTokenRotationActivities } from './activities.js';
import { DEFAULT_ROTATION_TASK_QUEUE } from './types.js';

export interface ApiTokenRotationWorkerOptions
  extends Omit<RunWorkerOptions, 'worker'>,
    ApiTokenRotationActivityOptions {
  /** Default `tokenrelay-rotation`: the worker's identity needs `taskqueue.poll:` on it. */
  taskQueue?: string;
  /** More worker options (identity, concurrency, …). */
  worker?: Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'workflowsPath' | 'activities'>;
}

/**
 * Starts a supervised worker running the rotator. `client` (for the activities) must reach the trees'
 * namespace with the trees' payload codec and an identity holding `read` and `token.rotate`; the
 * worker's own token needs `taskqueue.poll:<taskQueue>`.
 *
 * @example
 * ```ts
 * const worker = await startApiTokenRotationWorker({
 *   address, namespace, tls, token: rotatorToken, codec,
 *   client: rotatorClient,
 *   tokenSource: new ClientCredentialsTokenSource({ tokenUrl, clientId, clientSecret }),
 *   revoke: revokeByJsonPost('https://api.example.com/admin/revoke'),
 * });
 * ```
 */
export async function startApiTokenRotationWorker(
  options: ApiTokenRotationWorkerOptions,
): Promise<SupervisedWorker> {
  const { client, tokenSource, revoke, confirmIntervalMs, taskQueue, worker, ...run } = options;
  return startWorker({
    ...run,
    worker: {
      ...worker,
      taskQueue: taskQueue ?? DEFAULT_ROTATION_TASK_QUEUE,
      workflowsPath: rotationWorkflowsPath(),
      activities: createApiTokenRotationActivities({
        client,
        tokenSource,
        ...(revoke ? { revoke } : {}),
        ...(confirmIntervalMs !== undefined ? { confirmIntervalMs } : {}),
      }),
    },
  });
}

/** The rotator's workflow module: TypeScript in a source checkout, JavaScript in the installed package. */
export function rotationWorkflowsPath(): string {
  const source = fileURLToPath(new URL('./rotation-workflow.ts', import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL('./rotation-workflow.js', import.meta.url));
}
