import { join } from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import { createReferenceActivities } from '../../activities/index.js';
import { type DevConfig, devCodec, devTls, devToken } from '../devstack/dev-config.js';
import { packageRoot } from '../package-root.js';
import { connectClient } from '../temporal/connect.js';
import { type SupervisedWorker, startWorker } from '../temporal/run-worker.js';
import { REFERENCE_TASK_QUEUE } from './reference-app.js';

export interface ReferenceWorker {
  supervised: SupervisedWorker;
  /** A client on the same stack, with the codec, for starting and rotating trees. */
  client: Client;
  close(): Promise<void>;
}

/**
 * The reference application's worker on the dev stack: mTLS + a refreshing JWT, the dev payload codec
 * (tokens in signals stay encrypted in history), and activities that read the token at attempt time.
 */
export async function startReferenceWorker(
  config: DevConfig,
  options: { logger?: Logger; shutdownSignals?: NodeJS.Signals[] } = {},
): Promise<ReferenceWorker> {
  const token = devToken(config, 'worker');
  const codec = await devCodec(config);
  const tls = devTls(config);
  let connection: Connection | undefined;
  try {
    connection = await connectClient({ address: config.temporal.address, tls, token });
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter: { payloadCodecs: [codec] },
    });
    const supervised = await startWorker({
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      tls,
      token,
      codec,
      worker: {
        taskQueue: REFERENCE_TASK_QUEUE,
        workflowsPath: join(packageRoot(), 'workflows', 'index.ts'),
        activities: createReferenceActivities(client),
      },
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    });
    const open = connection;
    return {
      supervised,
      client,
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
