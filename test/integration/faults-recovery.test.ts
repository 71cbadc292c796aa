// Property 4 (docs/architecture.md §5) and property 1 under faults: a worker killed with kill -9 in the middle of a
// propagation, a Temporal server restarted in the middle of one, an issuer down for longer than the
// token lifetime, and a signing-key rotation while 50 clients refresh. Each time nothing is lost (every
// workflow completes, every opted-in node converges on the newest token), nobody intervenes, and the
// time to recover is printed.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection } from '@temporalio/client';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devTls } from '../../src/dev.js';
import { devStartService, devStopService } from '../../src/devstack/dev-stack.js';
import {
  type AuthRejectedEvent,
  connectClient,
  getApiTokenInfo,
  openIssuerState,
  type RefreshingToken,
  rotateApiToken,
  rotateSigningKey,
  type SupervisedWorker,
  startParent,
  startWorker,
} from '../../src/index.js';
import { apiTokenFingerprint } from '../../src/workflow.js';
import {
  persistRegistryUnder,
  printTable,
  recordSecret,
  recordTokensOf,
  recordWorkflow,
  saveCapturedOutput,
  seconds,
} from '../faults/helpers.js';
import { describeSecretsScan } from '../faults/secrets-scan-suite.js';
import {
  createTestApp,
  devConfig,
  devRoot,
  grpcCodeOf,
  refreshingTokenFor,
  tcpPortRefuses,
} from '../support/stack.js';
import { eventually, sleep, until } from '../support/wait.js';
import { workflowBundleFor } from '../support/workflow-bundles.js';
import { createFixtureActivities } from './fixtures/stateful/activities.js';
import {
  exited,
  type StatefulHarness,
  startWorkerProcess as startFixtureWorker,
  statefulHarness,
  treeIds,
  treeState,
  workflowsPath,
} from './fixtures/stateful/harness.js';
import { treeNode } from './fixtures/stateful/workflows.js';

const config = devConfig();
const root = devRoot();
const namespace = config.temporal.namespace;
const slowSignals = fileURLToPath(new URL('./fixtures/stateful/slow-signals.ts', import.meta.url));

/** Recovery times, printed as one table at the end. */
const recoveries: string[][] = [];
let h: StatefulHarness;

beforeAll(async () => {
  persistRegistryUnder(root);
  h = await statefulHarness(config);
});

afterAll(async () => {
  await h?.close();
  printTable('Fault recovery', ['fault', 'fault lasted', 'recovered in', 'details'], recoveries);
});

/** A fresh apiToken for a tree, recorded for the secrets scan. */
function apiToken(name: string): string {
  const token = `tok-${name}-${randomUUID()}`;
  recordSecret(`apiToken ${name}`, token);
  return token;
}

/** Starts a tree of `fanout` × `depth` TreeNodes holding `first`, and waits until every node holds it. */
async function startTree(taskQueue: string, rootId: string, first: string, fanout = 3, depth = 2) {
  const ids = treeIds(rootId, fanout, depth);
  for (const id of ids) recordWorkflow(id);
  await startParent(h.client, treeNode, {
    taskQueue,
    workflowId: rootId,
    input: { depth, fanout, workflowTaskTimeout: '2 seconds' },
    workflowTaskTimeout: '2 seconds',
    apiToken: first,
  });
  await converged(ids, first, 60_000);
  return ids;
}

/** Every node holds `token` under one version (the root's stamp) and owes no child anything. */
function converged(ids: string[], token: string, timeoutMs: number) {
  return eventually(
    () => treeState(h.client, ids),
    (states) =>
      states.every(
        (s) =>
          s.token === token && s.info.version === states[0]?.info.version && s.info.children.pending === 0,
      ),
    'every node to hold the token under one version with nothing pending',
    { timeoutMs, intervalMs: 200 },
  );
}

/** Rotates and resolves once the root holds the new token but still owes it to children. */
async function rotateAndCatchMidway(rootId: string, token: string) {
  await rotateApiToken(h.client, rootId, token);
  return eventually(
    () => getApiTokenInfo(h.client, rootId),
    (info) => info.fingerprint === apiTokenFingerprint(token) && info.children.pending > 0,
    'the root to hold the new token while still owing it to children',
    { intervalMs: 20, timeoutMs: 30_000 },
  );
}

/** Finishes every node leaves first (a finished parent would terminate its children) and awaits each result. */
async function finishAll(ids: string[]): Promise<string[]> {
  const depthOf = (id: string) => id.split('.').length;
  const byDepth = [...new Set(ids.map(depthOf))].sort((a, b) => b - a);
  const results: string[] = [];
  for (const depth of byDepth) {
    const level = ids.filter((id) => depthOf(id) === depth);
    results.push(
      ...(await Promise.all(
        level.map(async (id) => {
          const handle = h.client.workflow.getHandle(id);
          await handle.signal('finish');
          return (await handle.result()) as string;
        }),
      )),
    );
  }
  return results;
}

describe('kill -9 of the worker in the middle of a propagation', () => {
  const taskQueue = `faults-kill-${randomUUID()}`;
  const workers: ChildProcess[] = [];
  let output = '';

  async function startWorkerProcess(): Promise<ChildProcess> {
    const child = await startFixtureWorker({
      config,
      taskQueue,
      codecKeysEnv: h.codecKeysEnv,
      onOutput: (text) => {
        output += text;
      },
    });
    workers.push(child);
    return child;
  }

  afterAll(async () => {
    for (const child of workers) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await saveCapturedOutput(root, 'faults-kill-worker-processes', output);
  });

  it('a new worker process finishes the propagation and every workflow completes', async () => {
    const rootId = `faults-kill-${randomUUID()}`;
    const first = apiToken('kill-first');
    const second = apiToken('kill-second');
    const killed = await startWorkerProcess();
    const ids = await startTree(taskQueue, rootId, first);

    const atKill = await rotateAndCatchMidway(rootId, second);
    killed.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(killed);
    expect(killed.signalCode).toBe('SIGKILL');
    await startWorkerProcess();
    const restartedAt = Date.now();
    await converged(ids, second, 90_000);
    const convergedAt = Date.now();

    const results = await finishAll(ids);
    expect(results).toHaveLength(ids.length);
    expect(results.every((r) => r === 'finished generation 0')).toBe(true);
    recoveries.push([
      'kill -9 worker mid-propagation',
      `${seconds(restartedAt - killedAt)} (no worker)`,
      `${seconds(convergedAt - restartedAt)} after the new worker started`,
      `${ids.length} workflows; ${atKill.children.pending} children pending at the kill; all completed`,
    ]);
  }, 180_000);
});

describe('with a supervised worker on 10-second tokens', () => {
  const taskQueue = `faults-supervised-${randomUUID()}`;
  let workerToken: RefreshingToken;
  let supervised: SupervisedWorker;

  beforeAll(async () => {
    const app = await createTestApp({ tokenLifetimeSeconds: 10 });
    recordSecret('faults supervised app secret', app.clientSecret);
    workerToken = refreshingTokenFor(config, app, { maxBackoffMs: 1_000 });
    recordTokensOf(workerToken, 'faults supervised worker token');
    // Slow signals (a 300 ms timer before each apiToken signal) so a propagation spans the fault.
    supervised = await startWorker({
      address: config.temporal.address,
      tls: devTls(config),
      token: workerToken,
      worker: {
        taskQueue,
        // The bundle the kill -9 case's worker processes use (built once per run).
        workflowBundle: await workflowBundleFor(workflowsPath, { workflowInterceptorModules: [slowSignals] }),
        activities: createFixtureActivities(h.client),
        stickyQueueScheduleToStartTimeout: '1 second',
      },
      codec: h.codec,
      shutdownSignals: [],
      restartInitialDelayMs: 500,
      restartMaxDelayMs: 2_000,
    });
  }, 120_000);

  afterAll(async () => {
    await devStartService('temporal', { root }).catch(() => {});
    await devStartService('issuer', { root }).catch(() => {});
    await supervised?.shutdown();
    workerToken?.stop();
  });

  it('a Temporal server restarted mid-propagation: the tree converges and every workflow completes', async () => {
    const rootId = `faults-temporal-${randomUUID()}`;
    const first = apiToken('restart-first');
    const second = apiToken('restart-second');
    const third = apiToken('restart-third');
    const ids = await startTree(taskQueue, rootId, first);

    const atStop = await rotateAndCatchMidway(rootId, second);
    const stoppedAt = Date.now();
    await devStopService('temporal', { root });
    await until(() => tcpPortRefuses(config.temporal.address), 'the Temporal frontend to stop listening');
    await devStartService('temporal', { root });
    const upAt = Date.now();
    await converged(ids, second, 120_000);
    const convergedAt = Date.now();
    // And the tree still works: a rotation after the restart reaches everyone.
    await rotateApiToken(h.client, rootId, third);
    await converged(ids, third, 60_000);

    const results = await finishAll(ids);
    expect(results).toHaveLength(ids.length);
    recoveries.push([
      'Temporal server restart mid-propagation',
      seconds(upAt - stoppedAt),
      `${seconds(convergedAt - upAt)} after the server served again`,
      `${ids.length} workflows; ${atStop.children.pending} children pending at the stop; worker restarts ${supervised.restarts}; all completed`,
    ]);
  }, 300_000);

  it('an issuer down for longer than the token lifetime: work pauses, then finishes by itself', async () => {
    // The client's token is the harness's long-lived one, so workflows can be started during the outage.
    const started: string[] = [];
    const startOne = async () => {
      const id = `faults-issuer-${randomUUID()}`;
      recordWorkflow(id);
      await startParent(h.client, treeNode, { taskQueue, workflowId: id, input: { depth: 0, fanout: 0 } });
      await h.client.workflow.getHandle(id).signal('finish');
      started.push(id);
    };
    await startOne();
    await devStopService('issuer', { root });
    const stoppedAt = Date.now();
    // The outage lasts until the worker's 10-second token has expired, a workflow started every 3 s.
    await until(
      async () => {
        await startOne();
        return !workerToken.state.valid;
      },
      "the worker's token to expire during the outage",
      { intervalMs: 3_000 },
    );
    const expiredDuringOutage = !workerToken.state.valid;
    await devStartService('issuer', { root });
    const upAt = Date.now();
    const results = await Promise.all(started.map((id) => h.client.workflow.getHandle(id).result()));
    const doneAt = Date.now();
    expect(expiredDuringOutage).toBe(true);
    expect(results).toHaveLength(started.length);
    recoveries.push([
      'issuer stopped longer than the token lifetime',
      seconds(upAt - stoppedAt),
      `${seconds(doneAt - upAt)} until every workflow started during the outage completed`,
      `${started.length} workflows; token expired during outage: ${expiredDuringOutage}; worker restarts ${supervised.restarts}. See also worker-outage.test.ts`,
    ]);
  }, 120_000);
});

describe('a signing-key rotation while 50 clients refresh', () => {
  it('no client sees a single refusal', async () => {
    const CLIENTS = 50;
    const app = await createTestApp({ permissions: [`${namespace}:read`], tokenLifetimeSeconds: 10 });
    recordSecret('faults rotation app secret', app.clientSecret);
    const tokens: RefreshingToken[] = [];
    const connections: Connection[] = [];
    const rejected: AuthRejectedEvent[] = [];
    const outcomes = new Map<string, number>();
    let running = true;
    try {
      for (let i = 0; i < CLIENTS; i++) {
        const token = refreshingTokenFor(config, app);
        recordTokensOf(token, 'faults rotation client token');
        tokens.push(token);
        connections.push(
          await connectClient({
            address: config.temporal.address,
            tls: devTls(config),
            token,
            onAuthRejected: (event) => rejected.push(event),
          }),
        );
      }
      const callsSoFar = () => [...outcomes.values()].reduce((a, b) => a + b, 0);
      // Each client calls once a second, the 50 spread over that second: pacing, not waiting.
      const loops = connections.map(async (connection, i) => {
        await sleep((i * 1_000) / CLIENTS);
        while (running) {
          const code = String(await grpcCodeOf(connection.workflowService.describeNamespace({ namespace })));
          outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
          await sleep(1_000);
        }
      });
      await until(() => callsSoFar() >= 2 * CLIENTS, 'every client to be calling');
      const state = await openIssuerState(join(root, 'issuer'));
      const rotatedAt = Date.now();
      const { created } = await rotateSigningKey(state.signingKeys);
      await state.audit.flush();
      const kidOf = (t: RefreshingToken) => decodeProtectedHeader(t.current() ?? '').kid;
      // Every client must have moved on to a token from the new key (10 s tokens refresh at ~7.5 s).
      await eventually(
        async () => tokens.filter((t) => t.current() && kidOf(t) === created.kid).length,
        (n) => n === CLIENTS,
        'every client to hold a token from the new key',
        { timeoutMs: Date.parse(created.activatesAt) - Date.now() + 30_000, intervalMs: 250 },
      );
      const allMovedAt = Date.now();
      // Every client calls at least twice more with its new-key token before the verdict.
      const callsWhenMoved = callsSoFar();
      await until(() => callsSoFar() >= callsWhenMoved + 2 * CLIENTS, 'calls with the new-key tokens');
      running = false;
      await Promise.all(loops);
      const calls = [...outcomes.values()].reduce((a, b) => a + b, 0);
      recoveries.push([
        `signing-key rotation, ${CLIENTS} clients refreshing`,
        `new key published ${seconds(Date.parse(created.activatesAt) - rotatedAt)} before signing`,
        `all clients on the new key ${seconds(allMovedAt - Date.parse(created.activatesAt))} after activation`,
        `${calls} calls: ${JSON.stringify(Object.fromEntries(outcomes))}; refusals ${rejected.length}`,
      ]);
      expect(Object.keys(Object.fromEntries(outcomes))).toEqual(['ok']);
      expect(rejected).toEqual([]);
      expect(calls).toBeGreaterThan(CLIENTS * 5);
    } finally {
      running = false;
      for (const t of tokens) t.stop();
      await Promise.all(connections.map((c) => c.close()));
    }
  }, 120_000);
});

describeSecretsScan(config, root);
