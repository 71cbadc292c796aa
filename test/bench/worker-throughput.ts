// Measurement 3: workflows completed per second (each runs one trivial activity) by the same worker
// code against the secured dev stack (mTLS + JWT on every call) and against the plain server.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { type DevConfig, devTls, devToken } from '../../src/devstack/dev-config.js';
import { connectClient } from '../../src/temporal/connect.js';
import { type PlainServer, startPlainServer } from './plain-server.js';
import { median, msSince, round, runPool } from './stats.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

export interface ThroughputOptions {
  /** Workflows per side, split over `rounds`. */
  workflows: number;
  rounds: number;
  warmupWorkflows: number;
  /** Workflows in flight at once from the client. */
  concurrency: number;
  bundlePath: string;
  plainStateDir: string;
  plainPortBase: number;
}

export interface ThroughputSide {
  completed: number;
  /** Median over the rounds. */
  perSecond: number;
  rounds: number[];
}

export interface ThroughputResult {
  secured: ThroughputSide;
  plain: ThroughputSide;
  /** secured / plain: 1 means the security layer costs nothing in throughput. */
  ratio: number;
}

interface Side {
  client: Client;
  taskQueue: string;
  close(): Promise<void>;
}

/**
 * Both servers and both workers run for the whole measurement and the sides take turns, round by
 * round, alternating which goes first: on a shared two-core machine, measuring one side after the
 * other mostly measures what else the machine was doing (a freshly started server's own start-up
 * work included).
 */
export async function measureThroughput(
  config: DevConfig,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const server = await startPlainServer({ stateDir: options.plainStateDir, portBase: options.plainPortBase });
  const sides: Side[] = [];
  try {
    sides.push(await securedSide(config, options.bundlePath));
    sides.push(await plainSide(server, options.bundlePath));
    const [secured, plain] = sides as [Side, Side];
    await drive(secured, options.warmupWorkflows, options.concurrency);
    await drive(plain, options.warmupWorkflows, options.concurrency);
    const perRound = Math.max(1, Math.floor(options.workflows / options.rounds));
    const rates: [number[], number[]] = [[], []];
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order)
        rates[i as 0 | 1].push(await drive(sides[i] as Side, perRound, options.concurrency));
    }
    const side = (values: number[]): ThroughputSide => ({
      completed: perRound * options.rounds,
      perSecond: round(median(values), 2),
      rounds: values.map((v) => round(v, 2)),
    });
    const result = { secured: side(rates[0]), plain: side(rates[1]) };
    return { ...result, ratio: round(result.secured.perSecond / result.plain.perSecond, 3) };
  } finally {
    for (const side of sides) await side.close();
    await server.stop();
  }
}

async function securedSide(config: DevConfig, bundlePath: string): Promise<Side> {
  const token = devToken(config, 'developer');
  const { address, namespace } = config.temporal;
  const tls = devTls(config, 'worker');
  const { clientId, clientSecret } = config.apps.developer;
  const taskQueue = `bench-throughput-${randomUUID().slice(0, 8)}`;
  const connection = await connectClient({ address, tls, token });
  let worker: WorkerProcess;
  try {
    worker = await startWorkerProcess({
      address,
      namespace,
      taskQueue,
      bundlePath,
      maxCachedWorkflows: 1_000,
      secured: { tls, tokenEndpoint: { tokenUrl: config.issuer.tokenUrl, clientId, clientSecret } },
    });
  } catch (err) {
    await connection.close();
    token.stop();
    throw err;
  }
  return {
    client: new Client({ connection, namespace }),
    taskQueue,
    async close() {
      await worker.stop();
      await connection.close();
      token.stop();
    },
  };
}

async function plainSide(server: PlainServer, bundlePath: string): Promise<Side> {
  const taskQueue = `bench-throughput-${randomUUID().slice(0, 8)}`;
  const connection = await Connection.connect({ address: server.address });
  let worker: WorkerProcess;
  try {
    worker = await startWorkerProcess({
      address: server.address,
      namespace: server.namespace,
      taskQueue,
      bundlePath,
      maxCachedWorkflows: 1_000,
    });
  } catch (err) {
    await connection.close();
    throw err;
  }
  return {
    client: new Client({ connection, namespace: server.namespace }),
    taskQueue,
    async close() {
      await worker.stop();
      await connection.close();
    },
  };
}

/** Runs `count` workflows, `concurrency` at a time, each to its result; completed per second. */
export async function drive(
  side: Pick<Side, 'client' | 'taskQueue'>,
  count: number,
  concurrency: number,
): Promise<number> {
  const started = process.hrtime.bigint();
  await runPool(Array.from({ length: count }), concurrency, async () => {
    await side.client.workflow.execute('benchTrivial', {
      taskQueue: side.taskQueue,
      workflowId: `bench-${randomUUID()}`,
    });
  });
  return count / (msSince(started) / 1000);
}
