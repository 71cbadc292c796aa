// The built-in rotator's worker on the dev stack: the `rotationWorker` identity (read, token.rotate,
// poll of its own queue), new tokens from the issuer's `apiClient`, and the demo API's revocation.
import type { Logger } from '@temporalio/common';
import type { TokenSourceLike } from '../auth/token-source.js';
import type { DevConfig } from '../devstack/dev-config.js';
import { startDevWorker } from '../devstack/dev-worker.js';
import { DevStackError } from '../devstack/errors.js';
import { devApiTokenSource } from '../reference/api-tokens.js';
import { revokeByJsonPost } from '../stateful/rotation/activities.js';
import { DEFAULT_ROTATION_TASK_QUEUE } from '../stateful/rotation/types.js';
import { startApiTokenRotationWorker } from '../stateful/rotation/worker.js';
import type { SupervisedWorker } from '../temporal/run-worker.js';

export interface DevRotationWorker {
  supervised: SupervisedWorker;
  taskQueue: string;
  close(): Promise<void>;
}

export async function startDevRotationWorker(
  config: DevConfig,
  options: {
    logger?: Logger;
    shutdownSignals?: NodeJS.Signals[];
    taskQueue?: string;
    /** Default: the dev stack's `apiClient`. */
    tokenSource?: TokenSourceLike;
  } = {},
): Promise<DevRotationWorker> {
  if (!config.apps.rotationWorker) {
    throw new DevStackError(
      'devstack.invalid_state',
      'this dev stack predates the rotation worker identity: run `npx tokenrelay dev up` again',
    );
  }
  const taskQueue = options.taskQueue ?? DEFAULT_ROTATION_TASK_QUEUE;
  const { supervised, close } = await startDevWorker(config, 'rotationWorker', (connection) =>
    startApiTokenRotationWorker({
      ...connection,
      taskQueue,
      tokenSource: options.tokenSource ?? devApiTokenSource(config),
      revoke: revokeByJsonPost(`${config.demoApi.url}/admin/revoke`),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    }),
  );
  return { supervised, taskQueue, close };
}
