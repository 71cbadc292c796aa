// Measurement 4, how it grows: one rotation through StatefulWorkflow trees of growing size (fanout 10:
// 111, 1,111, 11,111 workflows in full mode), each on a fresh worker process, to show how the time a
// rotation takes grows with the number of workflows it must reach.
import { randomUUID } from 'node:crypto';
import { Client, type Connection } from '@temporalio/client';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { type DevConfig, devCodec, devTls, devToken } from '../../src/devstack/dev-config.js';
import { rotateApiToken, startParent } from '../../src/stateful/client.js';
import { connectClient } from '../../src/temporal/connect.js';
import { treeIds } from '../integration/fixtures/stateful/harness.js';
import { errorText } from './errors.js';
import { benchRotation, cleanUp, historyWritesOf, timeRotation, waitForVersion } from './propagation.js';
import { msSince, round } from './stats.js';
import { startWorkerProcess } from './worker-process.js';

export interface TreeScalingOptions {
  fanout: number;
  /** One tree per depth: 2, 3, 4 with fanout 10 are 111, 1,111 and 11,111 workflows. */
  depths: number[];
  bundlePath: string;
  timeoutMs: number;
}

export interface TreeScalingPoint {
  workflows: number;
  /** From starting the root until every workflow ran and held the first token. */
  treeStartMs: number;
  /** From the rotation signal until the last workflow held the new token (its `updatedAt`). */
  settledMs: number;
  /** As `settledMs`, until every parent had every child's confirmation. */
  confirmedMs: number;
  eventsPerWorkflow: number;
  /** Workflow-state writes per workflow (see `RotationTiming.writesPerWorkflow`). */
  writesPerWorkflow: number;
  /** Settled time per 1,000 workflows: flat when the cost grows linearly. */
  msPer1000: number;
}

export interface TreeScalingResult {
  /** The sizes measured, smallest first, up to the first that failed. */
  points: TreeScalingPoint[];
  /** The size that failed and why; the larger sizes after it were not tried. */
  failure?: { workflows: number; error: string };
}

/** Measures each depth in turn; a failure stops the sweep but keeps the sizes already measured. */
export async function measureTreeScaling(
  config: DevConfig,
  options: TreeScalingOptions,
): Promise<TreeScalingResult> {
  const points: TreeScalingPoint[] = [];
  for (const depth of options.depths) {
    try {
      points.push(await measureOne(config, options, depth));
    } catch (err) {
      const error = errorText(err);
      return { points, failure: { workflows: treeIds('size', options.fanout, depth).length, error } };
    }
  }
  return { points };
}

async function measureOne(config: DevConfig, options: TreeScalingOptions, depth: number) {
  const token = devToken(config, 'developer');
  const { address, namespace } = config.temporal;
  const tls = devTls(config, 'worker');
  const { clientId, clientSecret } = config.apps.developer;
  const run = randomUUID().slice(0, 8);
  const taskQueue = `bench-scale-${run}`;
  const ids = treeIds(`bench-${run}-scale`, options.fanout, depth);
  const source = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId,
    clientSecret,
  });
  let connection: Connection | undefined;
  let client: Client | undefined;
  const worker = await startWorkerProcess(
    {
      address,
      namespace,
      taskQueue,
      bundlePath: options.bundlePath,
      maxCachedWorkflows: ids.length + 50,
      secured: { tls, tokenEndpoint: { tokenUrl: config.issuer.tokenUrl, clientId, clientSecret } },
    },
    config.codec.keys,
  );
  try {
    connection = await connectClient({ address, tls, token });
    client = new Client({
      connection,
      namespace,
      dataConverter: { payloadCodecs: [await devCodec(config)] },
    });
    const c = client;
    const started = process.hrtime.bigint();
    await startParent(c, 'benchNode', {
      taskQueue,
      workflowId: ids[0] as string,
      input: { depth, fanout: options.fanout },
      apiToken: (await source.getToken()).token,
    });
    await waitForVersion(c, ids, 1, options.timeoutMs);
    const treeStartMs = msSince(started);
    const next = (await source.getToken()).token;
    const rotation = await timeRotation(c, ids, options.timeoutMs, historyWritesOf(config), () =>
      rotateApiToken(c, ids[0] as string, next, benchRotation),
    );
    return {
      workflows: ids.length,
      treeStartMs: round(treeStartMs),
      settledMs: rotation.settledMs,
      confirmedMs: rotation.confirmedMs,
      eventsPerWorkflow: rotation.eventsPerWorkflow,
      writesPerWorkflow: rotation.writesPerWorkflow,
      msPer1000: round((rotation.settledMs / ids.length) * 1000),
    };
  } finally {
    if (client) await cleanUp(client, [ids[0] as string]);
    await worker.stop();
    await connection?.close();
    token.stop();
  }
}
