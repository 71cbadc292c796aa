// Cancelling the root of a reference tree takes the whole subtree with it (issue 16: "a stopped
// StatefulWorkflow must take its subtree with it"). Children are started ABANDON so that they outlive
// their parent's continue-as-new; after one, only the workflow code's own cascade can reach them.
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { type OpenedClient, openDevClient } from '../../src/cli/connection-options.js';
import type { DemoApiStats } from '../../src/reference/demo-api.js';
import { REFERENCE_TASK_QUEUE } from '../../src/reference/names.js';
import { type ReferenceWorker, startReferenceWorker } from '../../src/reference/worker.js';
import { getApiTokenInfo, startParent } from '../../src/stateful/client.js';
import type { SyncProgress } from '../../workflows/index.js';
import { devConfig } from '../support/stack.js';
import { referenceWorkflowBundle } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

const config = devConfig();

let worker: ReferenceWorker;
let developer: OpenedClient;
let client: Client;
let api: ClientCredentialsTokenSource;

beforeAll(async () => {
  worker = await startReferenceWorker(config, {
    shutdownSignals: [],
    workflowBundle: await referenceWorkflowBundle(),
  });
  // The developer starts, inspects and cancels trees; the worker identity may do none of that.
  developer = await openDevClient(config, 'developer');
  client = developer.client;
  api = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId: config.apps.apiClient.clientId,
    clientSecret: config.apps.apiClient.clientSecret,
  });
}, 120_000);

afterAll(async () => {
  await developer?.close();
  await worker?.close();
});

/** Starts a tree of 1 root, 2 regions and 2 stores each; resolves once every node holds v1. */
async function startTree(rootId: string, intervalSeconds: number) {
  const ids = [
    rootId,
    ...['eu', 'us'].flatMap((r) => [`${rootId}.${r}`, `${rootId}.${r}.store-0`, `${rootId}.${r}.store-1`]),
  ];
  const token = (await api.getToken()).token;
  await startParent(client, 'inventorySync', {
    taskQueue: REFERENCE_TASK_QUEUE,
    workflowId: rootId,
    input: { apiUrl: config.demoApi.url, regions: ['eu', 'us'], storesPerRegion: 2, intervalSeconds },
    apiToken: token,
  });
  await eventually(
    () => Promise.all(ids.map((id) => getApiTokenInfo(client, id))),
    (all) => all.every((info) => info.version >= 1),
    'the whole tree holding v1',
  );
  return { ids, token };
}

async function refusedAsRevoked(): Promise<number> {
  const stats = (await (await fetch(`${config.demoApi.url}/stats`)).json()) as DemoApiStats;
  return stats.rejected.revoked ?? 0;
}

/** Cancels the root and waits until no workflow of the tree runs; their final statuses. */
async function cancelRoot(rootId: string, ids: string[]): Promise<string[]> {
  await client.workflow.getHandle(rootId).cancel();
  return eventually(
    () =>
      Promise.all(
        ids.map((id) =>
          client.workflow
            .getHandle(id)
            .describe()
            .then((d) => d.status.name),
        ),
      ),
    (all) => all.every((s) => s !== 'RUNNING'),
    'every workflow of the tree to close',
  );
}

describe('cancelling a reference tree', () => {
  it('cancels every workflow of a freshly started tree', async () => {
    const rootId = `cancel-fresh-${Date.now()}`;
    const { ids } = await startTree(rootId, 1);
    expect(await cancelRoot(rootId, ids)).toEqual(ids.map(() => 'CANCELLED'));
  }, 120_000);

  it('cancels every workflow after each continued-as-new, while every API call is being refused', async () => {
    const rootId = `cancel-continued-${Date.now()}`;
    // The test stack suggests continue-as-new after 120 events: at 20 calls a second, within seconds.
    const { ids, token } = await startTree(rootId, 0.05);
    await eventually(
      () => Promise.all(ids.map((id) => client.workflow.getHandle(id).query<SyncProgress>('progress'))),
      (all) => all.every((p) => p.runs >= 1),
      'every node to continue-as-new',
    );
    // Every call from now on is refused: the activities retry for as long as they are let.
    const refusedBefore = await refusedAsRevoked();
    const res = await fetch(`${config.demoApi.url}/admin/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(res.status).toBe(204);
    await eventually(refusedAsRevoked, (n) => n >= refusedBefore + ids.length, 'calls to be refused');

    expect(await cancelRoot(rootId, ids)).toEqual(ids.map(() => 'CANCELLED'));
  }, 120_000);
});
