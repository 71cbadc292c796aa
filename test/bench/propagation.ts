// Measurements 4 and the worker half of 6: a StatefulWorkflow tree (1 + 10 + 100 + 1,000 in full mode)
// held by one worker process. Times a rotation from `rotateApiToken` on the root until every workflow
// reports the new version, against (a) the client signalling the same number of flat workflows itself,
// (b) the same tree on a worker that cannot relay handoffs (workflow-to-workflow signals), and (c) the
// server's raw signal rate, the limit for any way of delivering that many signals.
import { randomUUID } from 'node:crypto';
import { Client, type Connection } from '@temporalio/client';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { type DevConfig, devCodec, devTls, devToken } from '../../src/devstack/dev-config.js';
import { getApiTokenInfo, rotateApiToken, startParent } from '../../src/stateful/client.js';
import { apiTokenFingerprint } from '../../src/stateful/fingerprint.js';
import type { ApiTokenInfo } from '../../src/stateful/messages.js';
import { connectClient } from '../../src/temporal/connect.js';
import { grpcStatusOf } from '../../src/temporal/errors.js';
import { treeIds } from '../integration/fixtures/stateful/harness.js';
import { persistenceRequests, sumMetric } from '../support/metrics.js';
import { BenchError } from './errors.js';
import { mib } from './memory.js';
import { median, msSince, round, runPool, sleep } from './stats.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';
import type { BenchNodeInput } from './workflows.js';

/**
 * The same client-side work for the tree and the direct client: the root check costs one query per
 * call, which the direct client (signalling every id, none of them a root) would pay 1,111 times.
 */
export const benchRotation = { notRoot: 'ignore' } as const;

export interface PropagationOptions {
  /** Children per node; 10 with depth 3 is 1 + 10 + 100 + 1,000. */
  fanout: number;
  depth: number;
  /** Signals in flight at once when the client signals every workflow itself. */
  signalConcurrency: number;
  /** Rotations of each kind, taking turns; times are the median. */
  rotations: number;
  /** Rotations sent back to back for the burst measurement (the figure: 5). */
  burstRotations: number;
  bundlePath: string;
  timeoutMs: number;
}

export interface PropagationResult {
  /** Workflows per level, root first. */
  levels: number[];
  workflows: number;
  /** From starting the root until every node ran and held version 1. */
  treeStartMs: number;
  /** Handoffs relayed by the worker (the default: its credentials hold token.handoff). */
  tree: RotationTiming;
  /**
   * (b) The same tree on a worker without tokenrelay's activities: after one failed relay per parent
   * and run, handoffs go as workflow-to-workflow signals (what a worker without token.handoff does).
   */
  treeBySignal: RotationTiming;
  /** (a) The client sends the raw token to every one of as many childless workflows itself. */
  direct: RotationTiming & { sendMs: number };
  /**
   * (b) Payload-less signals the server accepted per second from the client at `signalConcurrency`,
   * measured twice after the rotations; the limit uses the faster run.
   */
  rawSignal: { signals: number; perSecond: number; concurrency: number; runs: number[] };
  /** How long `workflows` signals take at the raw rate: what no delivery scheme can beat. */
  limitMs: number;
  /** Tree rotation time over the direct client's. */
  ratioToDirect: number;
  /** The workflow-signal tree's rotation time over the direct client's. */
  ratioBySignalToDirect: number;
  /**
   * `burstRotations` rotations signalled to the root back to back: from the first signal until every
   * workflow held the last token; the median of `rotations` bursts, taking turns with the single
   * rotations. Coalescing means at most the first and the newest token travel.
   */
  burst: { rotations: number; settledMs: number; settledRunsMs: number[]; ratioToOne: number };
  /** Tree rotation time over the raw-rate limit. */
  ratioToLimit: number;
}

export interface RotationTiming {
  /** Workflows that reported the new version, in the worst rotation (all, or the wait timed out). */
  reached: number;
  /**
   * From the rotation call until the last workflow accepted the token (its `updatedAt`); the median
   * over the rotations, which are listed in `settledRunsMs`.
   */
  settledMs: number;
  settledRunsMs: number[];
  /** From the rotation call until the poller had seen every workflow on the new version. */
  observedMs: number;
  /**
   * From the rotation call until the poller had seen every parent count all its children as
   * confirmed (acknowledged holding the version): what "reached" costs on top of "holds".
   */
  confirmedMs: number;
  /** History events a rotation added, per workflow (mean over the rotations). */
  eventsPerWorkflow: number;
  /**
   * Workflow-state writes (the server's `UpdateWorkflowExecution` persistence calls) a rotation cost,
   * per workflow (mean over the rotations): what a single-writer store serialises, so the figure that
   * bounds the rotation's time on this stack's server.
   */
  writesPerWorkflow: number;
}

/** One rotation's figures, before {@link combine} takes the median over the runs. */
export type RotationRun = Omit<RotationTiming, 'settledRunsMs'>;

export interface WorkerMemoryResult {
  /** The worker process after a warm-up workflow, holding nothing. */
  idleMiB: number;
  /** The same process holding the whole tree in its cache. */
  treeMiB: number;
  perWorkflowKiB: number;
  workflows: number;
}

export async function measurePropagation(
  config: DevConfig,
  options: PropagationOptions,
): Promise<{ propagation: PropagationResult; workerMemory: WorkerMemoryResult }> {
  const token = devToken(config, 'developer');
  const { address, namespace } = config.temporal;
  const tls = devTls(config, 'worker');
  const { clientId, clientSecret } = config.apps.developer;
  const run = randomUUID().slice(0, 8);
  const taskQueue = `bench-tree-${run}`;
  const signalTaskQueue = `bench-tree-signal-${run}`;
  const ids = treeIds(`bench-${run}-root`, options.fanout, options.depth);
  const signalIds = treeIds(`bench-${run}-signal-root`, options.fanout, options.depth);
  const flatIds = ids.map((_, i) => `bench-${run}-flat-${i}`);
  const warmId = `bench-${run}-warm`;
  // Real tokens, so signals and inputs carry a JWT's size through the codec.
  const source = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId,
    clientSecret,
  });
  const first = (await source.getToken()).token;

  let connection: Connection | undefined;
  let worker: WorkerProcess | undefined;
  let signalWorker: WorkerProcess | undefined;
  let client: Client | undefined;
  try {
    connection = await connectClient({ address, tls, token });
    client = new Client({
      connection,
      namespace,
      dataConverter: { payloadCodecs: [await devCodec(config)] },
    });
    worker = await startWorkerProcess(
      {
        address,
        namespace,
        taskQueue,
        bundlePath: options.bundlePath,
        maxCachedWorkflows: 2 * ids.length + 50,
        secured: { tls, tokenEndpoint: { tokenUrl: config.issuer.tokenUrl, clientId, clientSecret } },
      },
      config.codec.keys,
    );
    const c = client;
    const writes = historyWritesOf(config);
    const start = (workflowId: string, input: BenchNodeInput, queue = taskQueue) =>
      startParent(c, 'benchNode', { taskQueue: queue, workflowId, input, apiToken: first });
    const wait = (targets: readonly string[], version: number) =>
      waitForVersion(c, targets, version, options.timeoutMs);

    // One workflow first, so the idle figure includes the workflow runtime the tree needs anyway.
    await start(warmId, { depth: 0, fanout: 0 });
    await wait([warmId], 1);
    await c.workflow.getHandle(warmId).terminate('benchmark warm-up');
    await sleep(1_000);
    const idle = await worker.rss();

    const treeStarted = process.hrtime.bigint();
    await start(ids[0] as string, { depth: options.depth, fanout: options.fanout });
    await wait(ids, 1);
    const treeStartMs = msSince(treeStarted);
    await sleep(1_000);
    const held = await worker.rss();

    await runPool(flatIds, 32, async (id) => {
      await start(id, { depth: 0, fanout: 0 });
    });
    await wait(flatIds, 1);

    // After the memory figures, which are the relaying worker's alone.
    signalWorker = await startWorkerProcess(
      {
        address,
        namespace,
        taskQueue: signalTaskQueue,
        bundlePath: options.bundlePath,
        maxCachedWorkflows: signalIds.length + 50,
        relayHandoffs: false,
        secured: { tls, tokenEndpoint: { tokenUrl: config.issuer.tokenUrl, clientId, clientSecret } },
      },
      config.codec.keys,
    );
    await start(signalIds[0] as string, { depth: options.depth, fanout: options.fanout }, signalTaskQueue);
    await wait(signalIds, 1);

    const rawSignalRate = async () => {
      const started = process.hrtime.bigint();
      await runPool(flatIds, options.signalConcurrency, (id) => c.workflow.getHandle(id).signal('benchNoop'));
      return flatIds.length / (msSince(started) / 1000);
    };
    const treeRuns: RotationRun[] = [];
    const signalTreeRuns: RotationRun[] = [];
    const directRuns: RotationRun[] = [];
    const burstRuns: number[] = [];
    const sendRuns: number[] = [];
    for (let r = 0; r < options.rotations; r++) {
      const next = (await source.getToken()).token;
      /** Rotates a tree at its root (the first id) and records the timing in `runs`. */
      const rotateTreeOf = (tree: readonly string[], runs: RotationRun[]) => async () => {
        runs.push(
          await timeRotation(c, tree, options.timeoutMs, writes, () =>
            rotateApiToken(c, tree[0] as string, next, benchRotation),
          ),
        );
      };
      const rotateTree = rotateTreeOf(ids, treeRuns);
      const rotateSignalTree = rotateTreeOf(signalIds, signalTreeRuns);
      const rotateEach = async () => {
        directRuns.push(
          await timeRotation(c, flatIds, options.timeoutMs, writes, async () => {
            const sent = process.hrtime.bigint();
            await runPool(flatIds, options.signalConcurrency, (id) =>
              rotateApiToken(c, id, next, benchRotation),
            );
            sendRuns.push(msSince(sent));
          }),
        );
      };
      const burst = async () => {
        const { settledMs } = await timeBurst(c, ids, options.burstRotations, options.timeoutMs, () =>
          source.getToken().then((t) => t.token),
        );
        burstRuns.push(settledMs);
      };
      // Taking turns, so no kind always runs on the machine another one just left.
      const kinds = [rotateTree, rotateEach, rotateSignalTree, burst];
      for (let k = 0; k < kinds.length; k++) await (kinds[(r + k) % kinds.length] as () => Promise<void>)();
    }
    // Last, because the worker still works through the signalled workflows' tasks for a while after
    // the server accepted the signals; twice, and the faster run is the limit.
    const rawRuns = [await rawSignalRate(), await rawSignalRate()];
    const rawPerSecond = Math.max(...rawRuns);
    const tree = combine(treeRuns);
    const treeBySignal = combine(signalTreeRuns);
    const direct = combine(directRuns);

    const limitMs = (ids.length / rawPerSecond) * 1000;
    return {
      propagation: {
        levels: Array.from({ length: options.depth + 1 }, (_, d) => options.fanout ** d),
        workflows: ids.length,
        treeStartMs: round(treeStartMs),
        tree,
        treeBySignal,
        direct: { ...direct, sendMs: round(median(sendRuns)) },
        rawSignal: {
          signals: flatIds.length,
          perSecond: round(rawPerSecond),
          concurrency: options.signalConcurrency,
          runs: rawRuns.map((v) => round(v)),
        },
        limitMs: round(limitMs),
        ratioToDirect: round(tree.settledMs / direct.settledMs, 2),
        ratioBySignalToDirect: round(treeBySignal.settledMs / direct.settledMs, 2),
        burst: {
          rotations: options.burstRotations,
          settledMs: round(median(burstRuns)),
          settledRunsMs: burstRuns,
          ratioToOne: round(median(burstRuns) / tree.settledMs, 2),
        },
        ratioToLimit: round(tree.settledMs / limitMs, 2),
      },
      workerMemory: {
        idleMiB: mib(idle),
        treeMiB: mib(held),
        perWorkflowKiB: round((held - idle) / 1024 / ids.length),
        workflows: ids.length,
      },
    };
  } finally {
    if (client) await cleanUp(client, [ids[0] as string, signalIds[0] as string, ...flatIds]);
    await worker?.stop();
    await signalWorker?.stop();
    await connection?.close();
    token.stop();
  }
}

function combine(runs: readonly RotationRun[]): RotationTiming {
  return {
    reached: Math.min(...runs.map((r) => r.reached)),
    settledMs: round(median(runs.map((r) => r.settledMs))),
    settledRunsMs: runs.map((r) => r.settledMs),
    observedMs: round(median(runs.map((r) => r.observedMs))),
    confirmedMs: round(median(runs.map((r) => r.confirmedMs))),
    eventsPerWorkflow: round(runs.reduce((sum, r) => sum + r.eventsPerWorkflow, 0) / runs.length, 2),
    writesPerWorkflow: round(runs.reduce((sum, r) => sum + r.writesPerWorkflow, 0) / runs.length, 2),
  };
}

/**
 * Rotates with `rotate`, waits until every id holds the next version, and measures what it took.
 * `historyWrites` reads the server's running count of workflow-state writes (see {@link historyWritesOf}).
 */
export async function timeRotation(
  client: Client,
  ids: readonly string[],
  timeoutMs: number,
  historyWrites: () => Promise<number>,
  rotate: () => Promise<void>,
): Promise<RotationRun> {
  const before = await historyLength(client, ids);
  // The server publishes its counters about once a second: let what came before show up first.
  await sleep(METRICS_INTERVAL_MS);
  const writesBefore = await historyWrites();
  const version = (await getApiTokenInfo(client, ids[0] as string)).version + 1;
  const t0 = Date.now();
  const started = process.hrtime.bigint();
  await rotate();
  const infos = await waitForVersion(client, ids, version, timeoutMs);
  const observedMs = msSince(started);
  await waitForConfirmations(client, ids, timeoutMs);
  const confirmedMs = msSince(started);
  // updatedAt is workflow time, i.e. the start of the workflow task that took the token: the moment
  // each workflow had it, whenever the poller got round to asking.
  const settledAt = Math.max(...[...infos.values()].map((info) => Date.parse(info.updatedAt ?? '')));
  // Parents record the last child's signal acknowledgement in one more workflow task after it settled.
  await sleep(1_000);
  const after = await historyLength(client, ids);
  await sleep(METRICS_INTERVAL_MS);
  const writes = (await historyWrites()) - writesBefore;
  return {
    reached: [...infos.values()].filter((info) => info.version >= version).length,
    settledMs: round(settledAt - t0),
    observedMs: round(observedMs),
    confirmedMs: round(confirmedMs),
    eventsPerWorkflow: round((after - before) / ids.length, 2),
    writesPerWorkflow: round(writes / ids.length, 2),
  };
}

/** A little more than the server's metrics reporting interval (1 s). */
const METRICS_INTERVAL_MS = 1_500;

/**
 * Reads the server's count of workflow-state writes in `config`'s namespace: one per transaction on a
 * workflow (a signal recorded, a workflow task started or completed, a signal's delivery confirmed).
 */
export function historyWritesOf(config: DevConfig): () => Promise<number> {
  const matcher = persistenceRequests(config.temporal.namespace, 'UpdateWorkflowExecution');
  return () => sumMetric(config.temporal.metricsUrl, matcher);
}

/**
 * Polls `apiTokenInfo` of the workflows not yet seen on `version` (with no child still owed it) until
 * none is left. Queries go to the worker being measured, so a round stops at the eighth workflow still
 * behind and pauses: the poller confirms arrivals without becoming the load that delays them. The
 * times reported come from `updatedAt`, not from when the poller looked.
 */
export async function waitForVersion(
  client: Client,
  ids: readonly string[],
  version: number,
  timeoutMs: number,
): Promise<Map<string, ApiTokenInfo>> {
  return waitForTree(client, ids, (info) => info.version >= version, `token version ${version}`, timeoutMs);
}

/**
 * Polls like {@link waitForVersion} until `reached` holds for every id (and none still owes a child
 * its token): the one poller every measurement uses, so none is slowed by a heavier one.
 */
async function waitForTree(
  client: Client,
  ids: readonly string[],
  reached: (info: ApiTokenInfo) => boolean,
  what: string,
  timeoutMs: number,
): Promise<Map<string, ApiTokenInfo>> {
  const done = new Map<string, ApiTokenInfo>();
  let pending = [...ids];
  let lastError: unknown;
  const deadline = Date.now() + timeoutMs;
  const query = async (id: string): Promise<boolean> => {
    // While a tree is being built a node may not exist yet or not have run its first task.
    const info = await getApiTokenInfo(client, id).catch((err: unknown) => {
      lastError = err;
      return undefined;
    });
    if (!info || !reached(info) || info.children.pending > 0) return false;
    done.set(id, info);
    return true;
  };
  while (pending.length > 0) {
    if (Date.now() > deadline) {
      throw new BenchError(
        'bench.timeout',
        `${pending.length} of ${ids.length} workflows did not reach ${what} within ` +
          `${timeoutMs / 1000} s (first: ${pending[0]}; last query error: ${queryErrorText(lastError)})`,
      );
    }
    let behind = 0;
    for (let i = 0; i < pending.length && behind < 8; i += 8) {
      const reached = await Promise.all(pending.slice(i, i + 8).map(query));
      behind += reached.filter((r) => !r).length;
    }
    pending = pending.filter((id) => !done.has(id));
    if (pending.length > 0) await sleep(250);
  }
  return done;
}

/**
 * Sends `count` rotations to the root back to back (each signal awaited, none waited for), then waits
 * until every workflow holds the last token. Settled time comes from `updatedAt`, as for one rotation.
 */
async function timeBurst(
  client: Client,
  ids: readonly string[],
  count: number,
  timeoutMs: number,
  nextToken: () => Promise<string>,
): Promise<{ rotations: number; settledMs: number }> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(await nextToken());
  const last = apiTokenFingerprint(tokens.at(-1) as string);
  const t0 = Date.now();
  for (const token of tokens) await rotateApiToken(client, ids[0] as string, token, benchRotation);
  // The same poller as a single rotation's: polling every id each round would itself slow the tree.
  const infos = await waitForTree(
    client,
    ids,
    (info) => info.fingerprint === last,
    `the last of ${count} rotations`,
    timeoutMs,
  );
  const settledAt = Math.max(...[...infos.values()].map((info) => Date.parse(info.updatedAt ?? '')));
  return { rotations: count, settledMs: round(settledAt - t0) };
}

/** Polls until no workflow of `ids` has a child that was sent its version but has not confirmed it. */
async function waitForConfirmations(
  client: Client,
  ids: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const parents = ids.filter((id) => ids.some((other) => other.startsWith(`${id}.`)));
  let pending = [...parents];
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0) {
    const still: string[] = [];
    await runPool(pending, 8, async (id) => {
      const info = await getApiTokenInfo(client, id).catch(() => undefined);
      if (!info || info.children.unconfirmed > 0 || info.children.pending > 0) still.push(id);
    });
    pending = still;
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new BenchError(
        'bench.timeout',
        `${pending.length} parents still had unconfirmed children after ${timeoutMs / 1000} s`,
      );
    }
    await sleep(250);
  }
}

async function historyLength(client: Client, ids: readonly string[]): Promise<number> {
  let total = 0;
  await runPool(ids, 16, async (id) => {
    // Awaited first: `total += await …` would read `total` before the await and lose concurrent adds.
    const { historyLength } = await client.workflow.getHandle(id).describe();
    total += historyLength;
  });
  return total;
}

/** Terminates what the measurement started; terminating the root takes its descendants with it. */
export async function cleanUp(client: Client, ids: readonly string[]): Promise<void> {
  await runPool(ids, 32, async (id) => {
    await client.workflow
      .getHandle(id)
      .terminate('benchmark finished')
      .catch(() => {});
  });
}

/** An error with the gRPC status under the Temporal client's "Failed to query Workflow", which says why. */
function queryErrorText(err: unknown): string {
  const status = grpcStatusOf(err);
  return status ? `${String(err)} (gRPC ${status.code}: ${status.details})` : String(err);
}
