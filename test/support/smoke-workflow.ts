import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import * as activities from '../../activities/index.js';
import { type DevConfig, devCodec, devTls, devToken } from '../../src/dev.js';
import { connectClient, connectWorker } from '../../src/index.js';
import { referenceWorkflowBundle } from './temporal.js';

/**
 * Runs `smokeWorkflow` end to end on the dev stack with the developer application's credentials: a worker
 * on a NativeConnection and a client on a Connection, both over mTLS with a refreshing JWT.
 */
export async function runSmokeWorkflow(config: DevConfig, name = 'tokenrelay'): Promise<string> {
  const token = devToken(config, 'developer');
  const tls = devTls(config, 'worker');
  const address = config.temporal.address;
  const workerConnection = await connectWorker({ address, tls, token });
  const clientConnection = await connectClient({ address, tls, token });
  try {
    const taskQueue = `smoke-${randomUUID()}`;
    const dataConverter = { payloadCodecs: [await devCodec(config)] };
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle: await referenceWorkflowBundle(),
      activities,
      dataConverter,
    });
    const client = new Client({
      connection: clientConnection,
      namespace: config.temporal.namespace,
      dataConverter,
    });
    return await worker.runUntil(
      client.workflow.execute('smokeWorkflow', { taskQueue, workflowId: taskQueue, args: [name] }),
    );
  } finally {
    token.stop();
    await clientConnection.close();
    await workerConnection.close();
  }
}
