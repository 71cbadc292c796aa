import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, type Connection } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import { createReferenceActivities } from '../../activities/index.js';
import { type DevConfig, devCodec, devTls, devToken } from '../dev.js';
import { connectClient, type SupervisedWorker, startWorker } from '../index.js';
import { REFERENCE_TASK_QUEUE } from './names.js';

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
        workflowsPath: referenceWorkflowsPath(),
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

/**
 * The reference workflows next to this module: the TypeScript in a source checkout (run through tsx),
 * the compiled JavaScript in an installed package, which ships `dist/workflows` and no sources.
 */
export function referenceWorkflowsPath(): string {
  const source = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
}
