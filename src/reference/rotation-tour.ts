import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { decodeJwt } from 'jose';
import { jwtLifetimeMs } from '../auth/jwt-lifetime.js';
import type { DevConfig } from '../dev.js';
import {
  defaultRotationIntervalMs,
  deleteApiTokenRotation,
  getApiTokenInfo,
  RotationError,
  scheduleApiTokenRotation,
  startParent,
} from '../index.js';
import { pollUntil, sleep } from '../util/poll.js';
import type { ApiTokenRotationResult } from '../workflow.js';
import { devApiTokenSource } from './api-tokens.js';
import type { DemoApiStats } from './demo-api.js';
import { REFERENCE_TASK_QUEUE } from './names.js';

export const TOUR_ROOT_ID = 'inventory-sync';
/** The schedule that keeps the tour's tree on fresh API tokens after the tour ends. */
export const TOUR_SCHEDULE_ID = `${TOUR_ROOT_ID}-rotation`;
/** How long after a successor is confirmed the rotator revokes a token at the demo API. */
const REVOKE_AFTER_MS = 5_000;
const REGIONS = ['eu', 'us', 'ap'];
const STORES_PER_REGION = 3;

/**
 * The tour acts as dev applications, as a team would: `developer` starts and stops the tree and owns
 * its rotation schedule; `rotator` (may rotate tokens and read metadata, but neither start workflows
 * nor read tokens) watches a rotation spread. The scheduled rotations themselves run on the rotation
 * worker, as `rotationWorker`.
 */
export interface TourClients {
  developer: Client;
  rotator: Client;
}

/** What `npm start` found of an earlier tour and did about it. */
export interface PreviousTree {
  /** Workflows of the earlier tree still running when this tour began. */
  running: number;
  /** Of those, stopped by the `stop` cascade. */
  stopped: number;
  /** Of those, terminated because they did not stop in time. */
  terminated: number;
  /** An earlier rotation schedule was deleted (replaced by this tour's). */
  scheduleReplaced: boolean;
}

export interface TourSummary {
  rootWorkflowId: string;
  workflows: number;
  previousTree: PreviousTree;
  scheduleId: string;
  /** How often the schedule rotates the tree's API token. */
  rotationEveryMs: number;
  /** The scheduled rotation the tour watched: its workflow id and what it reported per tree. */
  rotation: { workflowId: string; outcome: string; holding: number; nodes: number };
  /** From the scheduled rotation's start until every workflow held the new version. */
  propagationMs: number;
  /** API calls accepted with the new token once it had reached the tree. */
  acceptedWithNewToken: number;
  /** API refusals after the old token was revoked (the point: zero). */
  rejectedAfterRevocation: number;
  /** Whether the API refused the revoked token when presented directly. */
  oldTokenRefused: boolean;
}

/**
 * The main job's story on a running dev stack with the reference worker up: start an inventory tree
 * holding API token v1, rotate to v2, watch v2 reach every workflow, revoke v1 at the API, and show the
 * tree's calls carrying on with zero refusals. Tokens are never printed; only versions and counts.
 */
export async function runRotationTour(
  config: DevConfig,
  clients: TourClients,
  out: NodeJS.WriteStream = process.stdout,
): Promise<TourSummary> {
  const { developer: client, rotator } = clients;
  const say = (line: string) => out.write(`${line}\n`);
  const api = devApiTokenSource(config);
  const ids = treeIds();
  const previousTree = await replacePreviousTour(client, ids);
  if (previousTree.running > 0) {
    say(
      `Stopped the tree of an earlier run: ${previousTree.running} workflows were running ` +
        `(${previousTree.stopped} stopped by the stop cascade, ${previousTree.terminated} terminated)`,
    );
  }
  if (previousTree.scheduleReplaced) say(`Replaced the earlier rotation schedule ${TOUR_SCHEDULE_ID}`);

  const receivedAt = Date.now();
  const first = await api.getToken();
  const lifetimeMs = jwtLifetimeMs(first.token, receivedAt);
  say(
    `Starting workflow tree ${TOUR_ROOT_ID}: 1 root, ${REGIONS.length} regions, ${STORES_PER_REGION} stores each`,
  );
  await startParent(client, 'inventorySync', {
    taskQueue: REFERENCE_TASK_QUEUE,
    workflowId: TOUR_ROOT_ID,
    input: {
      apiUrl: config.demoApi.url,
      regions: REGIONS,
      storesPerRegion: STORES_PER_REGION,
      intervalSeconds: 1,
    },
    apiToken: first.token,
  });
  await pollUntil(async () => (await versionsReached(rotator, ids, 1)) === ids.length, {
    timeoutMs: 60_000,
    what: 'the tree to start with token v1',
  });
  const firstJti = String(decodeJwt(first.token).jti);
  await pollUntil(
    async () => ((await apiStats(config, firstJti)).acceptedByJti[firstJti] ?? 0) >= ids.length,
    { timeoutMs: 60_000, what: 'the first API calls' },
  );
  say(`All ${ids.length} workflows hold API token v1 and are calling ${config.demoApi.url}`);

  // Rotate well before exp: every third of the lifetime, so one failed rotation is caught up in time.
  const everyMs = defaultRotationIntervalMs(lifetimeMs);
  const heldBefore = (await getApiTokenInfo(rotator, TOUR_ROOT_ID)).version;
  const rotatedAt = Date.now();
  await scheduleApiTokenRotation(client, {
    scheduleId: TOUR_SCHEDULE_ID,
    every: everyMs,
    targets: { workflowIds: [TOUR_ROOT_ID] },
    revokeAfter: REVOKE_AFTER_MS,
    triggerImmediately: true,
  });
  say(
    `Scheduled API token rotation ${TOUR_SCHEDULE_ID}: every ${everyMs / 1000} s (a third of the ` +
      `${Math.round(lifetimeMs / 1000)} s token lifetime), each old token revoked ${REVOKE_AFTER_MS / 1000} s ` +
      'after its successor is confirmed; the first rotation runs now, on the rotation worker',
  );
  const progress = progressDisplay(out, ids.length);
  await pollUntil(
    async () => {
      const reached = await versionsReached(rotator, ids, heldBefore + 1);
      progress.update(reached);
      return reached === ids.length;
    },
    { timeoutMs: 60_000, what: 'the scheduled rotation to reach every workflow' },
  );
  const propagationMs = Date.now() - rotatedAt;
  progress.done();
  const rotation = await firstScheduledRotation(client);
  const tree = rotation.result.trees[0];
  say(
    `Scheduled rotation ${rotation.workflowId}: token v2 reached all ${ids.length} workflows in ${propagationMs} ms ` +
      `(rotator: ${tree?.outcome ?? '?'}, ${tree?.holding ?? 0}/${tree?.nodes ?? 0} confirmed)`,
  );
  const secondJti = rotation.result.issued?.tokenId ?? '';

  // v1 came from this tour, not the rotator: the tour revokes it. The rotator revokes every later one.
  await sleep(1_500);
  await revoke(config, firstJti);
  const beforeRevocation = await apiStats(config);
  say('Revoked token v1 at the API; the tree keeps calling with v2:');
  const watchUntil = Date.now() + 4_000;
  while (Date.now() < watchUntil) {
    await sleep(1_000);
    const stats = await apiStats(config, secondJti);
    say(
      `  API calls with v2: ${stats.acceptedByJti[secondJti] ?? 0} accepted, ` +
        `${totalRejected(stats) - totalRejected(beforeRevocation)} rejected since the revocation`,
    );
  }
  const after = await apiStats(config, secondJti);
  const oldTokenRefused = await refused(config, first.token);
  return {
    rootWorkflowId: TOUR_ROOT_ID,
    workflows: ids.length,
    previousTree,
    scheduleId: TOUR_SCHEDULE_ID,
    rotationEveryMs: everyMs,
    rotation: {
      workflowId: rotation.workflowId,
      outcome: tree?.outcome ?? 'unknown',
      holding: tree?.holding ?? 0,
      nodes: tree?.nodes ?? 0,
    },
    propagationMs,
    acceptedWithNewToken: after.acceptedByJti[secondJti] ?? 0,
    rejectedAfterRevocation: totalRejected(after) - totalRejected(beforeRevocation),
    oldTokenRefused,
  };
}

/** The first rotation the tour's schedule started, once it completed. */
async function firstScheduledRotation(
  client: Client,
): Promise<{ workflowId: string; result: ApiTokenRotationResult }> {
  const workflowId = await pollUntil(
    async () => {
      const { info } = await client.schedule.getHandle(TOUR_SCHEDULE_ID).describe();
      return info.recentActions[0]?.action.workflow.workflowId;
    },
    { timeoutMs: 30_000, what: 'the schedule to start its first rotation' },
  );
  const result = (await client.workflow.getHandle(workflowId).result()) as ApiTokenRotationResult;
  return { workflowId, result };
}

function treeIds(): string[] {
  return [
    TOUR_ROOT_ID,
    ...REGIONS.flatMap((r) => [
      `${TOUR_ROOT_ID}.${r}`,
      ...Array.from({ length: STORES_PER_REGION }, (_, i) => `${TOUR_ROOT_ID}.${r}.store-${i}`),
    ]),
  ];
}

/**
 * An earlier tour's tree and schedule are replaced, so exactly one tree calls the API and `npm start`
 * can run again: the schedule is deleted, the root is sent `stop` (which cascades through the tree
 * and cuts short calls stuck on refusals), and whatever workflow of the tree still runs after that —
 * a tree from older code without the cascade, say — is terminated.
 */
async function replacePreviousTour(client: Client, ids: string[]): Promise<PreviousTree> {
  let scheduleReplaced = true;
  await deleteApiTokenRotation(client, TOUR_SCHEDULE_ID).catch((err: unknown) => {
    if (!(err instanceof RotationError && err.code === 'rotation.schedule_not_found')) throw err;
    scheduleReplaced = false;
  });
  const running = await runningOf(client, ids);
  if (running.length === 0) return { running: 0, stopped: 0, terminated: 0, scheduleReplaced };
  const root: WorkflowHandle = client.workflow.getHandle(TOUR_ROOT_ID);
  if (running.includes(TOUR_ROOT_ID)) {
    await root.signal('stop');
    await Promise.race([root.result().catch(() => undefined), sleep(40_000)]);
  }
  // Children of a root that was already gone are stopped one by one (the cascade does the rest).
  await Promise.all(
    running
      .filter((id) => id !== TOUR_ROOT_ID)
      .map((id) =>
        client.workflow
          .getHandle(id)
          .signal('stop')
          .catch(() => undefined),
      ),
  );
  const deadline = Date.now() + 10_000;
  let left = await runningOf(client, ids);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(500);
    left = await runningOf(client, ids);
  }
  await Promise.all(
    left.map((id) =>
      client.workflow
        .getHandle(id)
        .terminate('replaced by a new tokenrelay start')
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }),
    ),
  );
  return {
    running: running.length,
    stopped: running.length - left.length,
    terminated: left.length,
    scheduleReplaced,
  };
}

/** The ids among `ids` with a running execution. */
async function runningOf(client: Client, ids: string[]): Promise<string[]> {
  const statuses = await Promise.all(
    ids.map((id) =>
      client.workflow
        .getHandle(id)
        .describe()
        .then(
          (d) => d.status.name,
          (err: unknown) => {
            if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
            throw err;
          },
        ),
    ),
  );
  return ids.filter((_, i) => statuses[i] === 'RUNNING');
}

async function versionsReached(client: Client, ids: string[], version: number): Promise<number> {
  const infos = await Promise.all(ids.map((id) => getApiTokenInfo(client, id).catch(() => undefined)));
  return infos.filter((info) => info !== undefined && info.version >= version).length;
}

/** The API's counters; per-token counts only for the token ids named (the API lists none by itself). */
async function apiStats(config: DevConfig, ...jtis: string[]): Promise<DemoApiStats> {
  const query = jtis.map((jti) => `jti=${encodeURIComponent(jti)}`).join('&');
  const res = await fetch(`${config.demoApi.url}/stats${query ? `?${query}` : ''}`, {
    signal: AbortSignal.timeout(5_000),
  });
  return (await res.json()) as DemoApiStats;
}

async function revoke(config: DevConfig, jti: string): Promise<void> {
  const res = await fetch(`${config.demoApi.url}/admin/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jti }),
  });
  if (res.status !== 204) throw new Error(`the demo API refused the revocation (${res.status})`);
}

async function refused(config: DevConfig, token: string): Promise<boolean> {
  const res = await fetch(`${config.demoApi.url}/inventory`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.body?.cancel();
  return res.status === 401;
}

function totalRejected(stats: DemoApiStats): number {
  return Object.values(stats.rejected).reduce((a, b) => a + b, 0);
}

/** A redrawn bar on a terminal; a plain line per change otherwise (CI logs, pipes). */
function progressDisplay(out: NodeJS.WriteStream, total: number) {
  let last = -1;
  return {
    update(reached: number) {
      const line =
        `  token v2 reached ${String(reached).padStart(2)}/${total} workflows ` +
        `[${'#'.repeat(reached)}${'.'.repeat(total - reached)}]`;
      if (out.isTTY) out.write(`\r\x1b[2K${line}`);
      else if (reached !== last) out.write(`${line}\n`);
      last = reached;
    },
    done() {
      if (out.isTTY) out.write('\n');
    },
  };
}
