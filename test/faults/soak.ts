// The soak profile of the fault suite (issue 8): a dev stack of its own on 10-second tokens, continuous
// StatefulWorkflow trees (start, rotate the apiToken, converge, finish), and a fault every so often —
// an issuer outage longer than the token lifetime, a Temporal server restart, a signing-key rotation.
// Prints the counts and each fault's recovery time at the end, then a secrets scan; exits 1 when
// anything was lost, a tree did not converge, a token leaked, or authorization failed outside an outage.
//
//   npx tsx test/faults/soak.ts                                  # 30 minutes
//   TOKENRELAY_SOAK_MINUTES=3 TOKENRELAY_SOAK_FAULT_EVERY_SECONDS=40 npx tsx test/faults/soak.ts
//
// Environment: TOKENRELAY_SOAK_MINUTES (30), TOKENRELAY_SOAK_FAULT_EVERY_SECONDS (120),
// TOKENRELAY_SOAK_PORT_BASE (16000: below the dev stack's 17200 and the test suite's 20000, and below the
// kernel's ephemeral range, so a soak, the dev stack and the suite run side by side), TOKENRELAY_SOAK_HOME (.tokenrelay/soak), TOKENRELAY_SOAK_TREES
// (concurrent tree loops, 2), TOKENRELAY_SOAK_ROTATION (1: scheduled rotation on, 0: off).
//
// Scheduled rotation (issue 16): a steady tree of 1 + 3 + 9 lives for the whole soak and is rotated
// on a Temporal Schedule by the built-in rotator (as `rotationWorker`, tokens from the issuer's
// `apiClient`, every third of the 10 s lifetime), through every fault. The soak fails when a
// rotation workflow fails or the steady tree does not end settled on the newest rotation's token;
// every token the rotator issued joins the secrets scan, and so do the rotations' histories.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { startDevRotationWorker } from '../../src/cli/rotation-worker.js';
import { devCodec, devTls, devToken } from '../../src/devstack/dev-config.js';
import { devDown, devStartService, devStopService, devUp } from '../../src/devstack/dev-stack.js';
import { devLayout } from '../../src/devstack/layout.js';
import { openIssuerState } from '../../src/issuer/issuer-state.js';
import { rotateSigningKey } from '../../src/issuer/signing-key-admin.js';
import { getApiToken, rotateApiToken, startParent } from '../../src/stateful/client.js';
import { scheduleApiTokenRotation } from '../../src/stateful/rotation/schedule.js';
import type { ApiTokenRotationResult } from '../../src/stateful/rotation/types.js';
import { getApiTokenTree } from '../../src/stateful/tree.js';
import { connectClient } from '../../src/temporal/connect.js';
import { startWorker } from '../../src/temporal/run-worker.js';
import { createFixtureActivities } from '../integration/fixtures/stateful/activities.js';
import { treeIds, workflowsPath } from '../integration/fixtures/stateful/harness.js';
import { treeNode } from '../integration/fixtures/stateful/workflows.js';
import { quietLogger } from '../support/temporal.js';
import { sleep, until } from '../support/wait.js';
import {
  loadRegistry,
  printTable,
  recordSecret,
  recordTokensOf,
  recordWorkflow,
  scanForSecrets,
  seconds,
  stackLogFiles,
} from './helpers.js';

const minutes = Number(process.env.TOKENRELAY_SOAK_MINUTES ?? 30);
const faultEveryMs = Number(process.env.TOKENRELAY_SOAK_FAULT_EVERY_SECONDS ?? 120) * 1000;
const portBase = Number(process.env.TOKENRELAY_SOAK_PORT_BASE ?? 16000);
const root = resolve(process.env.TOKENRELAY_SOAK_HOME ?? '.tokenrelay/soak');
const treeLoops = Number(process.env.TOKENRELAY_SOAK_TREES ?? 2);
const TOKEN_LIFETIME_S = 10;
const ISSUER_OUTAGE_MS = 15_000; // longer than the token lifetime
const scheduledRotation = (process.env.TOKENRELAY_SOAK_ROTATION ?? '1') !== '0';

const counts = {
  treesStarted: 0,
  treesConverged: 0,
  treesNotConverged: 0,
  workflowsCompleted: 0,
  workflowsFailed: 0,
  rotations: 0,
  clientAuthRejections: 0,
  clientAuthRejectionsOutsideOutages: 0,
  serverAuthRefusals: 0,
  serverAuthRefusalsOutsideOutages: 0,
  workerRestarts: 0,
  scheduledRotations: 0,
  scheduledRotationsAllRotated: 0,
  scheduledRotationsNotAllRotated: 0,
  scheduledRotationsFailed: 0,
  steadyTreeSettledAtEnd: 0,
};
const faults: string[][] = [];
/** Issuer outage windows (plus one token lifetime after), when refusals are the expected pause. */
const outages: Array<{ from: number; to: number }> = [];
const inOutage = (t: number) => outages.some((o) => t >= o.from && t <= o.to);
const log = (line: string) =>
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

Runtime.install({ logger: new DefaultLogger('WARN') });

log(
  `dev up at ${root} (port base ${portBase}, ${TOKEN_LIFETIME_S}-second tokens), ${minutes} min, a fault every ${faultEveryMs / 1000} s`,
);
const { config } = await devUp({
  root,
  reset: true,
  portBase,
  tokenLifetimeSeconds: TOKEN_LIFETIME_S,
  jwksRefreshSeconds: 3,
});
for (const [name, app] of Object.entries(config.apps))
  recordSecret(`dev app ${name} secret`, app.clientSecret);
const codec = await devCodec(config);
const workerToken = devToken(config, 'developer', { maxBackoffMs: 1_000 });
const clientToken = devToken(config, 'developer', { maxBackoffMs: 1_000 });
recordTokensOf(workerToken, 'soak worker token');
recordTokensOf(clientToken, 'soak client token');
const connection = await connectClient({
  address: config.temporal.address,
  tls: devTls(config),
  token: clientToken,
  onAuthRejected: () => {
    counts.clientAuthRejections += 1;
    if (!inOutage(Date.now())) counts.clientAuthRejectionsOutsideOutages += 1;
  },
});
const client = new Client({
  connection,
  namespace: config.temporal.namespace,
  dataConverter: { payloadCodecs: [codec] },
});
const rawClient = new Client({ connection, namespace: config.temporal.namespace });
const taskQueue = `soak-${randomUUID()}`;
const supervised = await startWorker({
  address: config.temporal.address,
  tls: devTls(config),
  token: workerToken,
  worker: {
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath,
      logger: quietLogger,
    }),
    activities: createFixtureActivities(client),
    stickyQueueScheduleToStartTimeout: '1 second',
  },
  codec,
  shutdownSignals: [],
  restartInitialDelayMs: 500,
  restartMaxDelayMs: 2_000,
});
supervised.on('workerRestarted', () => {
  counts.workerRestarts += 1;
});

// Scheduled rotation: a steady tree rotated by the built-in rotator for the whole soak.
const steadyRootId = `soak-steady-${randomUUID()}`;
const rotationScheduleId = `${steadyRootId}-rotation`;
let rotationWorker: Awaited<ReturnType<typeof startDevRotationWorker>> | undefined;
if (scheduledRotation) {
  rotationWorker = await startDevRotationWorker(config, {
    shutdownSignals: [],
    // Every token the rotator issues is searched for in logs and histories at the end.
    tokenSource: async () => {
      const issued = await new ClientCredentialsTokenSource({
        tokenUrl: config.issuer.tokenUrl,
        clientId: config.apps.apiClient.clientId,
        clientSecret: config.apps.apiClient.clientSecret,
      }).getToken();
      recordSecret('scheduled apiToken', issued.token);
      return issued;
    },
  });
  for (const id of treeIds(steadyRootId, 3, 2)) recordWorkflow(id);
  await startParent(client, treeNode, {
    taskQueue,
    workflowId: steadyRootId,
    input: { depth: 2, fanout: 3 },
  });
  await scheduleApiTokenRotation(client, {
    scheduleId: rotationScheduleId,
    tokenLifetime: TOKEN_LIFETIME_S * 1000,
    targets: { workflowIds: [steadyRootId] },
    revokeAfter: '1s',
    triggerImmediately: true,
  });
  log(`scheduled rotation of ${steadyRootId} (13 workflows) every third of the token lifetime`);
}

/** Counts the schedule's rotations by outcome, records their histories for the scan, and checks the steady tree. */
async function finishScheduledRotation(): Promise<void> {
  const schedule = client.schedule.getHandle(rotationScheduleId);
  await schedule.pause('soak over');
  // A rotation already running finishes, so its outcome counts (a timeout leaves it counted as neither).
  await until(
    async () => (await schedule.describe()).info.runningActions.length === 0,
    'the last scheduled rotation to finish',
    { timeoutMs: 120_000 },
  ).catch((err: Error) => log(err.message));
  let newest: ApiTokenRotationResult | undefined;
  for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${rotationScheduleId}'` })) {
    recordWorkflow(w.workflowId);
    counts.scheduledRotations += 1;
    if (w.status.name === 'COMPLETED') {
      const result = (await client.workflow
        .getHandle(w.workflowId, w.runId)
        .result()) as ApiTokenRotationResult;
      if (result.ok) counts.scheduledRotationsAllRotated += 1;
      else counts.scheduledRotationsNotAllRotated += 1;
      // Listed newest first.
      newest ??= result;
    } else if (w.status.name !== 'RUNNING') {
      counts.scheduledRotationsFailed += 1;
      log(`rotation ${w.workflowId} ended ${w.status.name}`);
    }
  }
  const tree = await getApiTokenTree(client, steadyRootId);
  const fingerprints = new Set(tree.nodes.map((n) => n.fingerprint));
  if (tree.settled && tree.nodes.length === 13 && fingerprints.size === 1) counts.steadyTreeSettledAtEnd = 1;
  else
    log(
      `steady tree not settled at the end: ${JSON.stringify(tree.counts)}, newest rotation ok=${newest?.ok}`,
    );
  await schedule.delete();
  await rotationWorker?.close();
}

const endAt = Date.now() + minutes * 60_000;
let running = true;

/** One tree: start with a token, rotate once, wait until every node holds the newest, finish leaves first. */
async function oneTree(): Promise<void> {
  const rootId = `soak-${randomUUID()}`;
  const ids = treeIds(rootId, 3, 1);
  const first = `tok-${randomUUID()}`;
  const second = `tok-${randomUUID()}`;
  recordSecret('soak apiToken', first);
  recordSecret('soak apiToken', second);
  for (const id of ids) recordWorkflow(id);
  counts.treesStarted += 1;
  await startParent(client, treeNode, {
    taskQueue,
    workflowId: rootId,
    input: { depth: 1, fanout: 3 },
    apiToken: first,
  });
  await rotateApiToken(client, rootId, second);
  counts.rotations += 1;
  // Generous: a fault (issuer outage, server restart) may sit in the middle of this.
  const ok = await until(
    async () => (await Promise.all(ids.map((id) => getApiToken(client, id)))).every((t) => t === second),
    `every node of ${rootId} holding the rotated token`,
    { timeoutMs: 180_000 },
  ).then(
    () => true,
    () => false,
  );
  if (ok) counts.treesConverged += 1;
  else {
    counts.treesNotConverged += 1;
    log(`tree ${rootId} did not converge`);
  }
  for (const level of [ids.slice(1), ids.slice(0, 1)]) {
    await Promise.all(
      level.map(async (id) => {
        const handle = client.workflow.getHandle(id);
        try {
          await retrying(() => handle.signal('finish'));
          await handle.result();
          counts.workflowsCompleted += 1;
        } catch (err) {
          counts.workflowsFailed += 1;
          log(`workflow ${id} failed: ${(err as Error).message}`);
        }
      }),
    );
  }
}

/** Client calls during a server restart fail with Unavailable; the caller retries them, as an app would. */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= 60) throw err;
      await sleep(1_000);
    }
  }
}

async function treeLoop(): Promise<void> {
  while (running && Date.now() < endAt) {
    await oneTree().catch((err: unknown) => {
      counts.treesNotConverged += 1;
      log(`tree failed: ${(err as Error).message}`);
    });
  }
}

/** How long until a workflow started now completes: the recovery time after a fault ends. */
async function probe(): Promise<number> {
  const started = Date.now();
  const id = `soak-probe-${randomUUID()}`;
  recordWorkflow(id);
  await retrying(() =>
    startParent(client, treeNode, { taskQueue, workflowId: id, input: { depth: 0, fanout: 0 } }),
  );
  await retrying(() => client.workflow.getHandle(id).signal('finish'));
  await client.workflow.getHandle(id).result();
  counts.workflowsCompleted += 1;
  return Date.now() - started;
}

const faultKinds = ['signing-key rotation', 'issuer outage', 'Temporal restart'] as const;
async function injectFault(n: number): Promise<void> {
  const kind = faultKinds[n % faultKinds.length] as (typeof faultKinds)[number];
  const began = Date.now();
  log(`fault ${n + 1}: ${kind}`);
  if (kind === 'issuer outage') {
    const outage = { from: began, to: Number.POSITIVE_INFINITY };
    outages.push(outage);
    await devStopService('issuer', { root });
    await sleep(ISSUER_OUTAGE_MS);
    await devStartService('issuer', { root });
    // Refusals of tokens that expired during the outage may arrive up to a token lifetime later.
    outage.to = Date.now() + TOKEN_LIFETIME_S * 1000;
  } else if (kind === 'Temporal restart') {
    await devStopService('temporal', { root });
    // The fault itself: the server stays down a moment, so clients see it gone, not just restarted.
    await sleep(2_000);
    await devStartService('temporal', { root });
  } else {
    const state = await openIssuerState(join(root, 'issuer'));
    const { created } = await rotateSigningKey(state.signingKeys);
    await state.audit.flush();
    await sleep(Math.max(0, Date.parse(created.activatesAt) - Date.now()));
  }
  const ended = Date.now();
  const recovery = await probe();
  faults.push([String(n + 1), kind, seconds(ended - began), seconds(recovery)]);
  log(
    `fault ${n + 1}: ${kind} over after ${seconds(ended - began)}; a new workflow completed ${seconds(recovery)} later`,
  );
}

async function faultLoop(): Promise<void> {
  for (let n = 0; running; n++) {
    await sleep(faultEveryMs);
    if (!running || Date.now() + ISSUER_OUTAGE_MS + 30_000 > endAt) return;
    await injectFault(n);
  }
}

const reporter = setInterval(() => log(JSON.stringify(counts)), 30_000);
const loops = Array.from({ length: treeLoops }, () => treeLoop());
const faulting = faultLoop();
await Promise.all(loops);
running = false;
await faulting;
clearInterval(reporter);
if (scheduledRotation) await finishScheduledRotation();

// Every token the server refused, from its own log ("Authorization error", one line per refused call).
const temporalLog = await readFile(devLayout(root).temporalLogPath, 'utf8');
for (const line of temporalLog.split('\n')) {
  if (!line.includes('"msg":"Authorization error"')) continue;
  counts.serverAuthRefusals += 1;
  const ts = Date.parse((JSON.parse(line) as { ts: string }).ts);
  if (!inOutage(ts)) counts.serverAuthRefusalsOutsideOutages += 1;
}

const registry = await loadRegistry();
const scan = await scanForSecrets({
  secrets: registry.secrets,
  files: stackLogFiles(root),
  rawClient,
  workflowIds: registry.workflowIds,
});
await supervised.shutdown();
workerToken.stop();
clientToken.stop();
await connection.close();
await devDown({ root });

printTable(
  'Soak: counts',
  ['count', 'value'],
  Object.entries(counts).map(([k, v]) => [k, String(v)]),
);
printTable('Soak: faults', ['#', 'fault', 'lasted', 'recovered in (new workflow completed)'], faults);
printTable(
  'Soak: secrets scan',
  ['secrets searched', 'raw histories', 'bytes scanned', 'hits'],
  [
    [
      String(registry.secrets.size),
      String(scan.histories),
      String(scan.scannedBytes),
      String(scan.hits.length),
    ],
  ],
);
const failed =
  counts.treesNotConverged > 0 ||
  counts.workflowsFailed > 0 ||
  counts.clientAuthRejectionsOutsideOutages > 0 ||
  counts.serverAuthRefusalsOutsideOutages > 0 ||
  (scheduledRotation &&
    (counts.scheduledRotationsFailed > 0 ||
      counts.scheduledRotationsAllRotated === 0 ||
      counts.steadyTreeSettledAtEnd === 0)) ||
  scan.hits.length > 0;
process.stderr.write(failed ? 'SOAK FAILED\n' : 'SOAK PASSED\n');
process.exit(failed ? 1 : 0);
