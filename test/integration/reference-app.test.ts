import { describe, expect, it } from 'vitest';
import { openDevClient } from '../../src/cli/connection-options.js';
import {
  ClientCredentialsTokenSource,
  getApiTokenInfo,
  rotateApiToken,
  startParent,
} from '../../src/index.js';
import type { DemoApiStats } from '../../src/reference/demo-api.js';
import { REFERENCE_TASK_QUEUE } from '../../src/reference/names.js';
import { startReferenceWorker } from '../../src/reference/worker.js';
import type { SyncProgress } from '../../workflows/index.js';
import { devConfig } from '../support/stack.js';
import { referenceWorkflowBundle } from '../support/temporal.js';
import { eventually, until } from '../support/wait.js';

const config = devConfig();

/** Calls the demo API has refused so far, for any reason. */
async function refusedCalls(): Promise<number> {
  const stats = (await (await fetch(`${config.demoApi.url}/stats`)).json()) as DemoApiStats;
  return Object.values(stats.rejected).reduce((a, b) => a + b, 0);
}

describe('the reference application', () => {
  it('keeps a long-running tree on the newest token across continue-as-new, then stops it cleanly', async () => {
    const worker = await startReferenceWorker(config, {
      shutdownSignals: [],
      workflowBundle: await referenceWorkflowBundle(),
    });
    // The worker identity may poll and read its tokens, nothing else: the test drives the tree as the
    // developer, and rotates as the rotator.
    const developer = await openDevClient(config, 'developer');
    const rotator = await openDevClient(config, 'rotator');
    const { client } = developer;
    const api = new ClientCredentialsTokenSource({
      tokenUrl: config.issuer.tokenUrl,
      clientId: config.apps.apiClient.clientId,
      clientSecret: config.apps.apiClient.clientSecret,
    });
    const rootId = `reference-${Date.now()}`;
    const ids = [rootId, `${rootId}.eu`, `${rootId}.eu.store-0`];
    const progressOf = (id: string) => client.workflow.getHandle(id).query<SyncProgress>('progress');
    try {
      const root = await startParent(client, 'inventorySync', {
        taskQueue: REFERENCE_TASK_QUEUE,
        workflowId: rootId,
        input: { apiUrl: config.demoApi.url, regions: ['eu'], storesPerRegion: 1, intervalSeconds: 0.05 },
        apiToken: (await api.getToken()).token,
      });
      // The test stack suggests continue-as-new after 120 events: every node gets there by itself.
      await eventually(
        () => Promise.all(ids.map(progressOf)),
        (all) => all.every((p) => p.runs >= 1),
        'every node to continue-as-new',
      );
      expect((await root.describe()).runId).not.toBe(root.firstExecutionRunId);

      const before = (await getApiTokenInfo(client, rootId)).version;
      await rotateApiToken(rotator.client, rootId, (await api.getToken()).token);
      // Versions are stamped from workflow time: the new one is larger than before and the same everywhere.
      const after = await eventually(
        () => Promise.all(ids.map((id) => getApiTokenInfo(client, id))),
        (all) => all.every((info) => info.version > before && info.version === all[0]?.version),
        'the new token everywhere',
      );
      const rotated = after[0]?.version;
      // The calls go on with the new token, in runs that started after continue-as-new.
      await eventually(
        () => Promise.all(ids.map(progressOf)),
        (all) => all.every((p) => p.lastVersion === rotated),
        'calls made with the new token',
      );

      await client.workflow.getHandle(rootId).signal('stop');
      for (const id of ids) {
        const result = await client.workflow.getHandle(id).result();
        expect(result).toMatchObject({ lastVersion: rotated });
        expect((result as SyncProgress).calls).toBeGreaterThan(10);
      }
    } finally {
      await Promise.all([developer.close(), rotator.close()]);
      await worker.close();
    }
  }, 120_000);

  it('stop takes the whole subtree with it, even while every API call is being refused', async () => {
    const worker = await startReferenceWorker(config, {
      shutdownSignals: [],
      workflowBundle: await referenceWorkflowBundle(),
    });
    // The developer starts, inspects and stops trees; the worker identity may do none of that.
    const developer = await openDevClient(config, 'developer');
    const { client } = developer;
    const api = new ClientCredentialsTokenSource({
      tokenUrl: config.issuer.tokenUrl,
      clientId: config.apps.apiClient.clientId,
      clientSecret: config.apps.apiClient.clientSecret,
    });
    const treeOf = (rootId: string) => [
      rootId,
      ...['eu', 'us'].flatMap((r) => [`${rootId}.${r}`, `${rootId}.${r}.store-0`, `${rootId}.${r}.store-1`]),
    ];
    const statusOf = (id: string) =>
      client.workflow
        .getHandle(id)
        .describe()
        .then((d) => d.status.name);
    try {
      for (const how of ['stop'] as const) {
        const rootId = `refused-${how}-${Date.now()}`;
        const ids = treeOf(rootId);
        const token = (await api.getToken()).token;
        await startParent(client, 'inventorySync', {
          taskQueue: REFERENCE_TASK_QUEUE,
          workflowId: rootId,
          input: {
            apiUrl: config.demoApi.url,
            regions: ['eu', 'us'],
            storesPerRegion: 2,
            intervalSeconds: 0.2,
          },
          apiToken: token,
        });
        await eventually(
          () => Promise.all(ids.map((id) => getApiTokenInfo(client, id))),
          (all) => all.length === ids.length && all.every((i) => i.version === 1),
          'the whole tree holding v1',
        );
        // Every call from now on is refused: the activities retry for as long as they are let.
        const refusedBefore = await refusedCalls();
        const res = await fetch(`${config.demoApi.url}/admin/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token }),
        });
        expect(res.status).toBe(204);
        await until(
          async () => (await refusedCalls()) >= refusedBefore + ids.length,
          'the tree’s calls to be refused',
        );

        const root = client.workflow.getHandle(rootId);
        await root.signal(how);
        const closed = await eventually(
          () => Promise.all(ids.map(statusOf)),
          (all) => all.every((s) => s !== 'RUNNING'),
          'every workflow of the tree to close',
        );
        expect(closed).toEqual(ids.map(() => 'COMPLETED'));
      }
    } finally {
      await developer.close();
      await worker.close();
    }
  }, 120_000);
});
