// The built-in rotator's worker on the dev stack: the `rotationWorker` identity (read, token.rotate,
// poll of its own queue), new tokens from the issuer's `apiClient`, and the demo API's revocation.
import { Client, type Connection } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import type { TokenSourceLike } from '../auth/token-source.js';
import { type DevConfig, devCodec, devTls, devToken } from '../devstack/dev-config.js';
import { DevStackError } from '../devstack/errors.js';
import { devApiTokenSource } from '../reference/api-tokens.js';
import { revokeByJsonPost } from '../stateful/rotation/activities.js';
import { DEFAULT_ROTATION_TASK_QUEUE } from '../stateful/rotation/types.js';
import { startApiTokenRotationWorker } from '../stateful/rotation/worker.js';
import { connectClient } from '../temporal/connect.js';
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
  const token = devToken(config, 'rotationWorker');
  const codec = await devCodec(config);
  const tls = devTls(config);
  const taskQueue = options.taskQueue ?? DEFAULT_ROTATION_TASK_QUEUE;
  let connection: Connection | undefined;
  try {
    connection = await connectClient({ address: config.temporal.address, tls, token });
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: { payloadCodecs: [codec] },
    });
    const supervised = await startApiTokenRotationWorker({
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      tls,
      token,
      codec,
      taskQueue,
      client,
      tokenSource: options.tokenSource ?? devApiTokenSource(config),
      revoke: revokeByJsonPost(`${config.demoApi.url}/admin/revoke`),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    });
    const open = connection;
    return {
      supervised,
      taskQueue,
      async close() {
        await supervised.shutdown();
        await open.close();
        token.stop();
      },
    };
  } catch (err) {
    await connection?.close();
    token.stop();
    throw err;
  }
}
