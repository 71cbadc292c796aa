// Rotation on a schedule (issue 16) on the real stack: a reference tree of 1 + 3 + 9 workflows on short
// API tokens, rotated every 10 s by the built-in rotator running as `rotationWorker`, the old token
// revoked at the demo API 1 s after its successor is confirmed everywhere.
//
// TOKENRELAY_ROTATION_TEST_SECONDS sets how long the tree runs under rotation (default 45 s; the issue's
// acceptance run is 180). TOKENRELAY_ROTATION_TEST_TOKEN_SECONDS sets the API token lifetime (default
// 30 s). The profile is 20 s: it passes while one rotation, from its tick until all 13 nodes hold
// the token, fits well inside 10 s (180 s runs: 4/4 at load 9 on two cores), and cannot pass once it
// does not: at load 10-13 rotations took 8-15 s, at load 17-23 13-27 s (the tree's own workflow tasks
// ran over 5 s, nodes confirmed 7-11 s after delivery; one run saw 114 token.expired refusals and no
// revoked ones). A late rotation delays the next instead of dropping it (overlap BUFFER_ONE), but no
// schedule can keep a 20 s token fresh when propagating it takes 20 s; 30 s leaves that slack.
import { readFile } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { type OpenedClient, openDevClient } from '../../src/cli/connection-options.js';
import { type DevRotationWorker, startDevRotationWorker } from '../../src/cli/rotation-worker.js';
import { DEMO_API_AUDIENCE, devStartService, devStopService } from '../../src/devstack/dev-stack.js';
import { devLayout } from '../../src/devstack/layout.js';
import { createApplication } from '../../src/issuer/application-admin.js';
import type { DemoApiStats } from '../../src/reference/demo-api.js';
import { REFERENCE_TASK_QUEUE } from '../../src/reference/names.js';
import { type ReferenceWorker, startReferenceWorker } from '../../src/reference/worker.js';
import { startParent } from '../../src/stateful/client.js';
import {
  describeApiTokenRotation,
  pauseApiTokenRotation,
  scheduleApiTokenRotation,
  triggerApiTokenRotation,
} from '../../src/stateful/rotation/schedule.js';
import type { ApiTokenRotationResult } from '../../src/stateful/rotation/types.js';
import { getApiTokenTree } from '../../src/stateful/tree.js';
import { devConfig } from '../support/stack.js';
import { eventually } from '../support/wait.js';

const config = devConfig();
const RUN_SECONDS = Number(process.env.TOKENRELAY_ROTATION_TEST_SECONDS ?? 45);
const TOKEN_SECONDS = Number(process.env.TOKENRELAY_ROTATION_TEST_TOKEN_SECONDS ?? 30);
const rootId = `rotating-${Date.now()}`;
const scheduleId = `${rootId}-rotation`;

let reference: ReferenceWorker;
let rotation: DevRotationWorker;
let client: Client;
let developer: OpenedClient;
let apiTokens: ClientCredentialsTokenSource;
let startingTokens: ClientCredentialsTokenSource;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // The demo API's client with short tokens: the rotator gets its tokens here.
  const { key } = await createApplication(
    { applicationsPath: devLayout(inject('devRoot')).applicationsPath },
    {
      id: `api-short-${Date.now()}`,
      permissions: ['demo-api:read'],
      audience: DEMO_API_AUDIENCE,
      tokenLifetimeSeconds: TOKEN_SECONDS,
    },
  );
  apiTokens = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId: key.keyId,
    clientSecret: key.secret,
  });
  // The token the tree starts with is the test's, not the rotator's: it must outlive the tree's
  // start-up and the schedule's first tick, which on a loaded machine took longer than a short token
  // lives (CI: all 17 refusals of one run were the starting token, version 1). Every token after it
  // is a rotated, short one.
  const { key: starter } = await createApplication(
    { applicationsPath: devLayout(inject('devRoot')).applicationsPath },
    {
      id: `api-start-${Date.now()}`,
      permissions: ['demo-api:read'],
      audience: DEMO_API_AUDIENCE,
      tokenLifetimeSeconds: 600,
    },
  );
  startingTokens = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId: starter.keyId,
    clientSecret: starter.secret,
  });
  reference = await startReferenceWorker(config, { shutdownSignals: [] });
  // Starts the tree and owns the schedule, as a team's developer would (the worker identity may do neither).
  developer = await openDevClient(config, 'developer');
  client = developer.client;
  rotation = await startDevRotationWorker(config, { shutdownSignals: [], tokenSource: apiTokens });
}, 120_000);

afterAll(async () => {
  await client?.schedule
    .getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await client?.workflow
    .getHandle(rootId)
    .signal('stop')
    .catch(() => undefined);
  await rotation?.close();
  await reference?.close();
  await developer?.close();
});

async function apiStats(): Promise<DemoApiStats> {
  return (await fetch(`${config.demoApi.url}/stats`)).json() as Promise<DemoApiStats>;
}
const refusals = (s: DemoApiStats) => Object.values(s.rejected).reduce((a, b) => a + b, 0);

/** Results of the schedule's completed rotations, oldest first. */
async function completedRotations(): Promise<ApiTokenRotationResult[]> {
  const runs = [];
  for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
    runs.push(w);
  }
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const out = [];
  for (const run of runs) {
    if (run.status.name === 'COMPLETED') {
      out.push(
        (await client.workflow.getHandle(run.workflowId, run.runId).result()) as ApiTokenRotationResult,
      );
    } else if (run.status.name !== 'RUNNING') {
      throw new Error(`rotation ${run.workflowId} ended ${run.status.name}`);
    }
  }
  return out;
}

/** How long each of the schedule's rotations ran (s), oldest first: where a slow run's time went. */
async function rotationSeconds(): Promise<string> {
  const runs = [];
  for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
    runs.push(w);
  }
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  return runs
    .map((w) =>
      w.closeTime ? ((w.closeTime.getTime() - w.startTime.getTime()) / 1000).toFixed(1) : 'running',
    )
    .join(' ');
}

/** test/support's eventually with this file's argument order (deadline before the description). */
const until = <T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, what: string) =>
  eventually(read, ok, what, { timeoutMs, intervalMs: 500 });

describe('scheduled API token rotation', () => {
  it(
    `keeps a 13-workflow tree on ${TOKEN_SECONDS} s tokens for ${RUN_SECONDS} s: no refusals, every rotation confirmed on every node, old tokens revoked`,
    async () => {
      const before = await apiStats();
      await startParent(client, 'inventorySync', {
        taskQueue: REFERENCE_TASK_QUEUE,
        workflowId: rootId,
        input: {
          apiUrl: config.demoApi.url,
          regions: ['eu', 'us', 'ap'],
          storesPerRegion: 3,
          // One call every 2 s per node still shows any refusal within seconds; every second doubled
          // the tree's load on the machine the rotations are measured on.
          intervalSeconds: 2,
        },
        apiToken: (await startingTokens.getToken()).token,
      });
      await until(
        () => getApiTokenTree(client, rootId),
        (t) => t.nodes.length === 13 && t.settled,
        60_000,
        'the tree',
      );
      await scheduleApiTokenRotation(client, {
        scheduleId,
        every: '10s',
        tokenLifetime: `${TOKEN_SECONDS}s`,
        targets: { workflowIds: [rootId] },
        revokeAfter: '1s',
        // Propagation through 13 workflows takes seconds on a busy machine, and up to ~12 s at load
        // 17 (two suites side by side). A rotation that confirms late delays the next (overlap
        // BUFFER_ONE) without dropping it; what must not happen is a node that never confirms.
        confirmTimeout: '20s',
        triggerImmediately: true,
      });
      await new Promise((r) => setTimeout(r, RUN_SECONDS * 1000));

      const results = await completedRotations();
      // Each rotation's length against the token's lifetime is what decides whether a shorter token
      // would have held on this machine: printed on every run, not only a failing one.
      const seconds = await rotationSeconds();
      process.stderr.write(`[rotation] ${TOKEN_SECONDS} s tokens, seconds each rotation took: ${seconds}\n`);
      // Soft: one run on a loaded machine shows every way it fell short, not only the first.
      expect
        .soft(results.length, `rotations completed (seconds each: ${seconds})`)
        .toBeGreaterThanOrEqual(Math.floor(RUN_SECONDS / 10) - 1);
      for (const result of results) {
        expect.soft(result.ok).toBe(true);
        expect
          .soft(result.trees)
          .toEqual([
            expect.objectContaining({ workflowId: rootId, outcome: 'rotated', nodes: 13, holding: 13 }),
          ]);
        // Identifiers only: the result never carries a token.
        expect(JSON.stringify(result)).not.toMatch(/eyJ[\w-]+\.eyJ/);
      }
      // From the second on, each rotation revoked the token the one before it issued.
      const revoked = JSON.parse(await readFile(devLayout(inject('devRoot')).demoApiRevokedPath, 'utf8')) as {
        revoked: Array<{ jti: string }>;
      };
      const revokedIds = new Set(revoked.revoked.map((r) => r.jti));
      for (let i = 1; i < results.length; i++) {
        expect.soft(results[i]!.revocation).toEqual({ outcome: 'revoked', previous: results[i - 1]!.issued });
        expect.soft(revokedIds.has(results[i - 1]!.issued!.tokenId!)).toBe(true);
      }
      const after = await apiStats();
      // By reason, so a failure says which (expired: a rotation came too late; revoked: the grace was short).
      expect.soft(after.rejected).toEqual(before.rejected);
      expect.soft(refusals(after) - refusals(before)).toBe(0);
      // Every node kept calling throughout (one call every 2 s each when idle; fewer on a busy machine).
      expect.soft(after.accepted - before.accepted).toBeGreaterThan(13 * (RUN_SECONDS / 8));
      const described = await describeApiTokenRotation(client, scheduleId);
      expect(described.problems).toEqual([]);
    },
    (RUN_SECONDS + 120) * 1000,
  );

  it('rides out an issuer outage longer than one interval: the rotation is retried, shows in describe, and nothing is lost', async () => {
    const done = (await completedRotations()).length;
    // Right after a rotation completed, so the tree's token has most of its lifetime left.
    await until(completedRotations, (r) => r.length > done, 20_000, 'a rotation to complete');
    const stoppedAt = Date.now();
    await devStopService('issuer', { root: inject('devRoot') });
    try {
      const failing = await until(
        () => describeApiTokenRotation(client, scheduleId),
        (d) => d.problems.some((p) => p.includes('issueApiToken failing')),
        20_000,
        'describe to show the failing rotation',
      );
      expect(failing.runs.at(-1)?.status).toBe('RUNNING');
      await new Promise((r) => setTimeout(r, Math.max(0, 12_000 - (Date.now() - stoppedAt))));
    } finally {
      await devStartService('issuer', { root: inject('devRoot') });
    }
    // Recovered by itself: after the one the outage held up, rotations complete again, and one of them
    // reaches every node in time. Any single one may still report a node catching up on a loaded machine
    // (seen in full runs: the third after the outage "lagging" with 12 of 13); the settle check below
    // shows that nothing was lost.
    const recovered = await until(
      completedRotations,
      (r) => r.length >= done + 3 && r.slice(done + 1).some((rotation) => rotation.ok),
      60_000,
      'rotations after the outage, one of them confirmed on every node',
    );
    expect(recovered.slice(done + 1).some((rotation) => rotation.ok)).toBe(true);
    // The schedule keeps rotating, so the tree may already be taking a rotation newer than the one just
    // read (seen in a full run: read mid-propagation, "not settled"). What must hold is that it settles
    // on whichever rotation completed last.
    const settled = await until(
      async () => ({
        tree: await getApiTokenTree(client, rootId),
        newest: (await completedRotations()).at(-1)!,
      }),
      ({ tree, newest }) =>
        tree.settled && tree.nodes.every((n) => n.fingerprint === newest.issued?.fingerprint),
      20_000,
      'the tree to settle on the newest completed rotation',
    );
    expect(settled.tree.nodes).toHaveLength(13);
  }, 180_000);

  it('stops rotating while paused', async () => {
    await pauseApiTokenRotation(client, scheduleId);
    // A rotation already running finishes.
    await new Promise((r) => setTimeout(r, 5_000));
    const taken = (await describeApiTokenRotation(client, scheduleId)).rotationsStarted;
    const version = (await getApiTokenTree(client, rootId)).nodes[0]!.version;
    await new Promise((r) => setTimeout(r, 15_000));
    const described = await describeApiTokenRotation(client, scheduleId);
    expect(described.paused).toBe(true);
    expect(described.rotationsStarted).toBe(taken);
    expect((await getApiTokenTree(client, rootId)).nodes[0]!.version).toBe(version);
  }, 60_000);

  it('reports a target that no longer exists instead of retrying it', async () => {
    const gone = `${rootId}-gone`;
    const id = `${scheduleId}-missing`;
    await scheduleApiTokenRotation(client, { scheduleId: id, every: '1h', targets: { workflowIds: [gone] } });
    try {
      await triggerApiTokenRotation(client, id);
      const described = await until(
        () => describeApiTokenRotation(client, id),
        (d) => d.runs.some((r) => r.status === 'COMPLETED'),
        30_000,
        'the rotation to complete',
      );
      const result = described.runs.find((r) => r.result)!.result!;
      expect(result.issued).toBeNull();
      expect(result.trees).toEqual([expect.objectContaining({ workflowId: gone, outcome: 'not_found' })]);
      expect(described.problems).toEqual([expect.stringContaining(`${gone}: not found`)]);
    } finally {
      await client.schedule.getHandle(id).delete();
    }
  }, 60_000);
});
