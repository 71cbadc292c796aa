// The reference Temporal server for worker throughput: the dev stack's server binary started from
// temporal-plain.yml (no TLS, no authorization) in its own folder and ports, fresh every run.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { runningPid, spawnDaemon, stopDaemon } from '../../src/devstack/daemon.js';
import { temporalServices } from '../../src/devstack/dev-stack.js';
import { assertPortsFree } from '../../src/devstack/ports.js';
import { devDynamicConfig, dynamicConfigYaml } from '../../src/devstack/temporal-config.js';
import { ensureTemporalServer } from '../../src/devstack/temporal-install.js';
import { BenchError } from './errors.js';
import { sleep } from './stats.js';

export interface PlainServer {
  address: string;
  namespace: string;
  stop(): Promise<void>;
}

const configFile = join(dirname(fileURLToPath(import.meta.url)), 'temporal-plain.yml');
/** The offsets temporal-plain.yml derives its ports from. */
const portOffsets = [33, 43, 53, 36, 46, 56, 34, 44, 35, 45, 39, 49, 90];

/**
 * Starts the plain server with its state under `stateDir` and ports from `portBase`, registers
 * `namespace`, and resolves once a call in that namespace succeeds. A server left behind by an earlier
 * run that died is stopped first.
 */
export async function startPlainServer(options: {
  stateDir: string;
  portBase: number;
  namespace?: string;
}): Promise<PlainServer> {
  const namespace = options.namespace ?? 'default';
  const pidPath = join(options.stateDir, 'temporal.pid');
  const logPath = join(options.stateDir, 'temporal.log');
  await stopDaemon(pidPath);
  await rm(options.stateDir, { recursive: true, force: true });
  await mkdir(join(options.stateDir, 'temporal'), { recursive: true, mode: 0o700 });
  // As on the dev stack (namespaces visible within a second, timers on time).
  await writeFile(
    join(options.stateDir, 'temporal', 'dynamicconfig.yml'),
    dynamicConfigYaml(devDynamicConfig),
  );
  await assertPortsFree(
    portOffsets.map((o) => ({ port: options.portBase + o, role: 'plain Temporal server' })),
  );
  const binary = await ensureTemporalServer();
  await spawnDaemon({
    command: binary,
    args: ['--config-file', configFile, 'start', ...temporalServices.flatMap((s) => ['--service', s])],
    env: {
      ...process.env,
      TOKENRELAY_STATE_DIR: options.stateDir,
      TOKENRELAY_PORT_BASE: String(options.portBase),
    },
    cwd: options.stateDir,
    logPath,
    pidPath,
    marker: configFile,
  });
  const address = `127.0.0.1:${options.portBase + 33}`;
  const stop = async () => {
    await stopDaemon(pidPath);
  };
  try {
    await untilReady(pidPath, logPath, () => registerNamespace(address, namespace));
    return { address, namespace, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function registerNamespace(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 2_000 });
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
      .catch((err: { code?: number }) => {
        if (err.code !== GrpcStatus.ALREADY_EXISTS) throw err;
      });
    // Registered is not yet usable: the frontend's namespace cache must have picked it up.
    await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

async function untilReady(pidPath: string, logPath: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await runningPid(pidPath)) === undefined) {
      throw new BenchError(
        'bench.server_failed',
        `the plain Temporal server exited during start-up; see ${logPath}`,
      );
    }
    if (await check()) return;
    await sleep(500);
  }
  throw new BenchError(
    'bench.server_failed',
    `the plain Temporal server was not ready within 120 s; see ${logPath}`,
  );
}
