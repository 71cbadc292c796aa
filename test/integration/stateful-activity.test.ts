import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateApiToken, startParent } from '../../src/stateful/client.js';
import { devConfig } from '../support/stack.js';
import {
  eventually,
  findSecret,
  rawHistoryEvents,
  type StatefulHarness,
  statefulHarness,
} from './fixtures/stateful/harness.js';
import { apiCaller } from './fixtures/stateful/workflows.js';

const config = devConfig();

/** A stand-in for the external API: 200 on /v2/ with the accepted token, 404 elsewhere, 401 otherwise. */
function protectedApi(accepted: string) {
  const seen: { path: string; authorized: boolean }[] = [];
  const server: Server = createServer((req, res) => {
    const authorized = req.headers.authorization === `Bearer ${accepted}`;
    seen.push({ path: req.url ?? '', authorized });
    res.statusCode = !authorized ? 401 : req.url?.startsWith('/v2/') ? 200 : 404;
    res.end();
  });
  return { server, seen };
}

describe('an activity calling an external API with the workflow token', () => {
  const taskQueue = `stateful-activity-${randomUUID()}`;
  const stale = `tok-stale-${randomUUID()}`;
  const fresh = `tok-fresh-${randomUUID()}`;
  const api = protectedApi(fresh);
  let base: string;
  let h: StatefulHarness;

  beforeAll(async () => {
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    h = await statefulHarness(config);
  });

  afterAll(async () => {
    await h?.close();
    await new Promise((resolve) => api.server.close(resolve));
  });

  it('uses the token current at attempt time, so a retry after a 401 succeeds once the token is rotated', async () => {
    const worker = await h.createWorker(taskQueue);
    const workflowId = `caller-${randomUUID()}`;
    const result = await worker.runUntil(async () => {
      const handle = await startParent(h.client, apiCaller, {
        taskQueue,
        workflowId,
        input: { apiUrl: `${base}/v2/` },
        apiToken: stale,
      });
      // Let a couple of attempts be refused with the stale token first.
      await eventually(
        async () => api.seen.filter((r) => !r.authorized).length,
        (refused) => refused >= 2,
        { intervalMs: 50 },
      );
      await rotateApiToken(handle, fresh);
      return handle.result();
    });
    expect(result.status).toBe(200);
    // The rotation's version: a hybrid logical clock, past the version the token was started with.
    expect(result.version).toBeGreaterThan(1);
    expect(result.attempt).toBeGreaterThan(2);
    expect(api.seen.at(-1)).toEqual({ path: '/v2/resource', authorized: true });
    // Neither token is an activity argument, result or failure message: the history holds neither.
    const events = await rawHistoryEvents(h.rawClient, workflowId);
    expect(
      events.some((e) => e.activityTaskFailedEventAttributes || e.activityTaskCompletedEventAttributes),
    ).toBe(true);
    for (const token of [stale, fresh]) expect(findSecret(events, token)).toEqual([]);
  });

  it('follows an apiUrl changed by signal without touching the token', async () => {
    const worker = await h.createWorker(taskQueue);
    const before = api.seen.length;
    const result = await worker.runUntil(async () => {
      const handle = await startParent(h.client, apiCaller, {
        taskQueue,
        workflowId: `caller-${randomUUID()}`,
        input: { apiUrl: `${base}/v1/` },
        apiToken: fresh,
      });
      await eventually(
        async () => api.seen.slice(before).filter((r) => r.path === '/v1/resource').length,
        (misses) => misses >= 1,
        { intervalMs: 50 },
      );
      await handle.signal('apiUrl', `${base}/v2/`);
      await expect(handle.query('apiUrl')).resolves.toBe(`${base}/v2/`);
      return handle.result();
    });
    expect(result).toMatchObject({ status: 200, version: 1 });
  });
});
