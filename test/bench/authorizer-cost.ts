// Measurement 7: what tokenrelay's authorizer costs against Temporal's default one. The dev stack's
// server runs tokenrelay's claim mapper and authorizer; a second server, the same binary with
// TOKENRELAY_AUTHORIZER=default (server/README.md), runs Temporal's stock ones on the same PKI and
// JWKS. Both run for the whole measurement and take turns, round by round: worker throughput and the
// latency of one authorized call.
import { randomUUID } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Client, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { runningPid, spawnDaemon, stopDaemon } from '../../src/devstack/daemon.js';
import { type DevConfig, devTls, devToken } from '../../src/devstack/dev-config.js';
import { temporalServerCommand } from '../../src/devstack/dev-stack.js';
import { devLayout } from '../../src/devstack/layout.js';
import { devPorts } from '../../src/devstack/ports.js';
import { ensureTokenrelayServer } from '../../src/devstack/temporal-install.js';
import { connectClient } from '../../src/temporal/connect.js';
import { BenchError } from './errors.js';
import { median, msSince, percentile, round, sleep } from './stats.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';
import { drive } from './worker-throughput.js';

export interface AuthorizerCostOptions {
  /** The dev stack's folder (its PKI is shared with the second server). */
  root: string;
  stateDir: string;
  portBase: number;
  bundlePath: string;
  workflows: number;
  rounds: number;
  concurrency: number;
  /** Sequential DescribeNamespace calls per side and round, for the latency figures. */
  calls: number;
}

export interface AuthorizerSide {
  workflowsPerSecond: number;
  throughputRounds: number[];
  /** Latency of one DescribeNamespace call (claim mapper + authorizer + the call itself). */
  callP50Ms: number;
  callP99Ms: number;
}

export interface AuthorizerCostResult {
  tokenrelay: AuthorizerSide;
  default: AuthorizerSide;
  /** tokenrelay / default workflows per second: 1 means the authorizer costs nothing (goal ≥ 0.97). */
  throughputRatio: number;
  /** default / tokenrelay p50 latency: 1 means no added latency. */
  latencyRatio: number;
}

interface Side {
  client: Client;
  connection: Connection;
  taskQueue: string;
  namespace: string;
  worker: WorkerProcess;
}

export async function measureAuthorizerCost(
  config: DevConfig,
  options: AuthorizerCostOptions,
): Promise<AuthorizerCostResult> {
  const server = await startDefaultAuthorizerServer(config, options);
  const token = devToken(config, 'developer');
  const sides: Side[] = [];
  try {
    sides.push(await openSide(config, config.temporal.address, token, options.bundlePath));
    sides.push(await openSide(config, server.address, token, options.bundlePath));
    const [ours, theirs] = sides as [Side, Side];
    await drive(ours, 5, options.concurrency);
    await drive(theirs, 5, options.concurrency);
    const perRound = Math.max(1, Math.floor(options.workflows / options.rounds));
    const rates: [number[], number[]] = [[], []];
    const latencies: [number[], number[]] = [[], []];
    for (let r = 0; r < options.rounds; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const side = sides[i] as Side;
        rates[i as 0 | 1].push(await drive(side, perRound, options.concurrency));
        latencies[i as 0 | 1].push(...(await callLatencies(side, options.calls)));
      }
    }
    const summary = (i: 0 | 1): AuthorizerSide => ({
      workflowsPerSecond: round(median(rates[i]), 2),
      throughputRounds: rates[i].map((v) => round(v, 2)),
      callP50Ms: round(percentile(latencies[i], 50), 2),
      callP99Ms: round(percentile(latencies[i], 99), 2),
    });
    const result = { tokenrelay: summary(0), default: summary(1) };
    return {
      ...result,
      throughputRatio: round(result.tokenrelay.workflowsPerSecond / result.default.workflowsPerSecond, 3),
      latencyRatio: round(result.default.callP50Ms / result.tokenrelay.callP50Ms, 3),
    };
  } finally {
    for (const side of sides) {
      await side.worker.stop();
      await side.connection.close();
    }
    token.stop();
    await server.stop();
  }
}

async function openSide(
  config: DevConfig,
  address: string,
  token: ReturnType<typeof devToken>,
  bundlePath: string,
): Promise<Side> {
  const { namespace } = config.temporal;
  const tls = devTls(config, 'worker');
  const { clientId, clientSecret } = config.apps.developer;
  const taskQueue = `bench-authz-${randomUUID().slice(0, 8)}`;
  const connection = await connectClient({ address, tls, token });
  try {
    const worker = await startWorkerProcess({
      address,
      namespace,
      taskQueue,
      bundlePath,
      maxCachedWorkflows: 1_000,
      secured: { tls, tokenEndpoint: { tokenUrl: config.issuer.tokenUrl, clientId, clientSecret } },
    });
    return { client: new Client({ connection, namespace }), connection, taskQueue, namespace, worker };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

async function callLatencies(side: Side, calls: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = process.hrtime.bigint();
    await side.connection.workflowService.describeNamespace({ namespace: side.namespace });
    times.push(msSince(started));
  }
  return times;
}

/**
 * The dev stack's server binary and config with Temporal's default authorizer, in its own folder and
 * ports; the PKI folder is linked so both servers trust the same CA and present the same certificates.
 */
async function startDefaultAuthorizerServer(
  config: DevConfig,
  options: AuthorizerCostOptions,
): Promise<{ address: string; stop(): Promise<void> }> {
  const layout = devLayout(options.stateDir);
  const pidPath = join(options.stateDir, 'temporal.pid');
  await stopDaemon(pidPath);
  await rm(options.stateDir, { recursive: true, force: true });
  for (const dir of [layout.root, layout.temporalDir, layout.logsDir]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  await symlink(devLayout(options.root).pkiDir, layout.pkiDir);
  const binary = await ensureTokenrelayServer();
  const command = await temporalServerCommand(layout, binary, config, options.portBase);
  const logPath = join(options.stateDir, 'temporal.log');
  await spawnDaemon({
    ...command,
    env: { ...command.env, TOKENRELAY_AUTHORIZER: 'default' },
    logPath,
    pidPath,
    marker: command.args[1] as string,
  });
  const address = `127.0.0.1:${devPorts(options.portBase).frontend}`;
  const stop = async () => {
    await stopDaemon(pidPath);
  };
  try {
    const deadline = Date.now() + 120_000;
    while (!(await registerNamespace(config, address))) {
      if ((await runningPid(pidPath)) === undefined || Date.now() > deadline) {
        throw new BenchError(
          'bench.server_failed',
          `the default-authorizer Temporal server did not become ready; see ${logPath}`,
        );
      }
      await sleep(500);
    }
    return { address, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function registerNamespace(config: DevConfig, address: string): Promise<boolean> {
  const token = devToken(config, 'admin');
  let connection: Connection | undefined;
  try {
    connection = await connectClient({ address, tls: devTls(config, 'admin'), token });
    const namespace = config.temporal.namespace;
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
      .catch((err: { code?: number }) => {
        if (err.code !== GrpcStatus.ALREADY_EXISTS) throw err;
      });
    // Registered is not yet usable: the frontend's namespace cache must have picked it up.
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    token.stop();
    await connection?.close();
  }
}
