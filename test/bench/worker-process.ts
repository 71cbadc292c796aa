// Starts and stops benchmark workers in child processes (worker-main.ts) from one prebuilt bundle.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { ClientCredentialsOptions } from '../../src/auth/client-credentials.js';
import type { TlsOptions } from '../../src/temporal/tls.js';
import { BenchError } from './errors.js';
import { rssBytes } from './memory.js';

/** What worker-main.ts runs, passed as JSON in BENCH_WORKER. */
export interface WorkerSpec {
  address: string;
  namespace: string;
  taskQueue: string;
  /** The prebuilt workflow bundle (see {@link bundleBenchWorkflows}). */
  bundlePath: string;
  maxCachedWorkflows: number;
  /**
   * false: the worker does not register tokenrelay's activities, so its StatefulWorkflows hand tokens
   * down by workflow-to-workflow signal. Default true (what `startWorker` does).
   */
  relayHandoffs?: boolean;
  /** mTLS + a token from the endpoint; absent for the plain server. */
  secured?: {
    tls: TlsOptions;
    tokenEndpoint: Pick<ClientCredentialsOptions, 'tokenUrl' | 'clientId' | 'clientSecret'>;
  };
}

export interface WorkerProcess {
  pid: number;
  rss(): Promise<number>;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Bundles the benchmark workflows once into `dir`: webpack is the slow part of starting a worker on
 * two cores, and every worker process of a run loads the same code.
 */
export async function bundleBenchWorkflows(dir: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: join(here, 'workflows.ts'), logger: quiet });
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'bench-workflows.js');
  await writeFile(path, code);
  return path;
}

/** Starts a worker process and resolves once it polls. `codecKeys` turns on the payload codec. */
export async function startWorkerProcess(spec: WorkerSpec, codecKeys?: string): Promise<WorkerProcess> {
  // node itself (not tsx's CLI), so the pid is the worker's own and its RSS is the worker's.
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'worker-main.ts')], {
    env: { ...process.env, BENCH_WORKER: JSON.stringify(spec), TOKENRELAY_CODEC_KEYS: codecKeys ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail('did not become ready within 120 s'), 120_000);
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new BenchError('bench.worker_failed', `benchmark worker ${why}. ${output}`));
    }
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => fail(`exited with ${code}`));
  });
  child.removeAllListeners('exit');
  const pid = child.pid as number;
  return { pid, rss: () => rssBytes(pid), stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
