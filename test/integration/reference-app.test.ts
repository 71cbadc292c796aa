import { describe, expect, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { REFERENCE_TASK_QUEUE } from '../../src/cli/reference-app.js';
import { startReferenceWorker } from '../../src/cli/reference-worker.js';
import { getApiTokenInfo, rotateApiToken, startParent } from '../../src/stateful/client.js';
import type { SyncProgress } from '../../workflows/index.js';
import { devConfig } from './helpers.js';

const config = devConfig();

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    // A node not started yet (or between runs) answers with an error: not there yet.
    const value = await read().catch((err: Error) => err);
    if (!(value instanceof Error) && ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the reference application', () => {
  it('keeps a long-running tree on the newest token across continue-as-new, then stops it cleanly', async () => {
    const worker = await startReferenceWorker(config, { shutdownSignals: [] });
    const { client } = worker;
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

      await rotateApiToken(client, rootId, (await api.getToken()).token);
      await eventually(
        () => Promise.all(ids.map((id) => getApiTokenInfo(client, id))),
        (all) => all.every((info) => info.version === 2),
        'token v2 everywhere',
      );
      // The calls go on with the new token, in runs that started after continue-as-new.
      await eventually(
        () => Promise.all(ids.map(progressOf)),
        (all) => all.every((p) => p.lastVersion === 2),
        'calls made with v2',
      );

      await client.workflow.getHandle(rootId).signal('stop');
      for (const id of ids) {
        const result = await client.workflow.getHandle(id).result();
        expect(result).toMatchObject({ lastVersion: 2 });
        expect((result as SyncProgress).calls).toBeGreaterThan(10);
      }
    } finally {
      await worker.close();
    }
  }, 120_000);
});
