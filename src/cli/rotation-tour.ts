import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { decodeJwt } from 'jose';
import { ClientCredentialsTokenSource } from '../auth/client-credentials.js';
import type { DemoApiStats } from '../devstack/demo-api.js';
import type { DevConfig } from '../devstack/dev-config.js';
import { getApiTokenInfo, rotateApiToken, startParent } from '../stateful/client.js';
import { REFERENCE_TASK_QUEUE } from './reference-app.js';

export const TOUR_ROOT_ID = 'inventory-sync';
const REGIONS = ['eu', 'us', 'ap'];
const STORES_PER_REGION = 3;

/**
 * The tour acts as two dev applications, as a team would: `developer` starts and stops the tree,
 * `rotator` (which may rotate tokens and read metadata, but neither start workflows nor read tokens)
 * hands it a new token and watches it spread.
 */
export interface TourClients {
  developer: Client;
  rotator: Client;
}

export interface TourSummary {
  rootWorkflowId: string;
  workflows: number;
  /** From the rotation signal until every workflow held the new version. */
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
  const api = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId: config.apps.apiClient.clientId,
    clientSecret: config.apps.apiClient.clientSecret,
  });
  await stopPreviousTree(client);
  const ids = treeIds();

  const first = await api.getToken();
  say(
    `Starting workflow tree ${TOUR_ROOT_ID}: 1 root, ${REGIONS.length} regions, ${STORES_PER_REGION} stores each`,
  );
  const root = await startParent(client, 'inventorySync', {
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
  await waitUntil(
    async () => (await versionsReached(rotator, ids, 1)) === ids.length,
    60_000,
    'the tree to start with token v1',
  );
  const firstJti = String(decodeJwt(first.token).jti);
  await waitUntil(
    async () => ((await apiStats(config, firstJti)).acceptedByJti[firstJti] ?? 0) >= ids.length,
    60_000,
    'the first API calls',
  );
  say(`All ${ids.length} workflows hold API token v1 and are calling ${config.demoApi.url}`);

  const second = await api.getToken();
  const secondJti = String(decodeJwt(second.token).jti);
  say(
    'Rotating the API token: v1 -> v2 (one signal to the root, as the rotator app; the tree passes it down)',
  );
  const heldBefore = (await getApiTokenInfo(rotator, TOUR_ROOT_ID)).version;
  const rotatedAt = Date.now();
  await rotateApiToken(rotator, root.workflowId, second.token);
  const progress = progressDisplay(out, ids.length);
  await waitUntil(
    async () => {
      const reached = await versionsReached(rotator, ids, heldBefore + 1);
      const stats = await apiStats(config, secondJti);
      progress.update(reached, stats, secondJti);
      return reached === ids.length;
    },
    60_000,
    'token v2 to reach every workflow',
  );
  const propagationMs = Date.now() - rotatedAt;
  progress.done();
  say(`Token v2 reached all ${ids.length} workflows in ${propagationMs} ms`);

  // Calls already holding v1 when the last workflow switched finish within an interval.
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
    propagationMs,
    acceptedWithNewToken: after.acceptedByJti[secondJti] ?? 0,
    rejectedAfterRevocation: totalRejected(after) - totalRejected(beforeRevocation),
    oldTokenRefused,
  };
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

/** A tree left by an earlier run is stopped first, so exactly one tree calls the API. */
async function stopPreviousTree(client: Client): Promise<void> {
  const handle: WorkflowHandle = client.workflow.getHandle(TOUR_ROOT_ID);
  try {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') return;
    await handle.signal('stop');
    await Promise.race([handle.result().catch(() => undefined), sleep(15_000)]);
    // A tree from older workflow code may be unable to finish (non-determinism): end it for good.
    if ((await handle.describe()).status.name === 'RUNNING') {
      await handle.terminate('replaced by a new tokenrelay start');
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
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
    update(reached: number, stats: DemoApiStats, jti: string) {
      const line =
        `  token v2 reached ${String(reached).padStart(2)}/${total} workflows ` +
        `[${'#'.repeat(reached)}${'.'.repeat(total - reached)}]  ` +
        `API calls with v2: ${stats.acceptedByJti[jti] ?? 0}`;
      if (out.isTTY) out.write(`\r\x1b[2K${line}`);
      else if (reached !== last) out.write(`${line}\n`);
      last = reached;
    },
    done() {
      if (out.isTTY) out.write('\n');
    },
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
