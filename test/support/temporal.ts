// Workers and clients on the shared test stack, built through the public API as an application would.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import * as activities from '../../activities/index.js';
import { type DevConfig, devTls } from '../../src/dev.js';
import {
  type AuthRejectedEvent,
  type ClientConnection,
  connectClient,
  type RefreshingToken,
  type RunWorkerOptions,
  type SupervisedWorker,
  startWorker,
  type TlsOptions,
} from '../../src/index.js';
import { packageRoot } from '../../src/package-root.js';
import { workflowBundleFor } from './workflow-bundles.js';

/** The reference application's workflows (`smokeWorkflow`, `heldWorkflow`, `inventorySync`, …). */
export const referenceWorkflowsPath = join(packageRoot(), 'workflows', 'index.ts');

/** The reference workflows' bundle ({@link workflowBundleFor}: built once per run, not once per worker). */
export function referenceWorkflowBundle(): Promise<WorkflowBundle> {
  return workflowBundleFor(referenceWorkflowsPath);
}

/** Keeps webpack's bundling chatter out of the test output. */
export const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export interface TestWorkerOptions extends Partial<Omit<RunWorkerOptions, 'worker' | 'token'>> {
  token: RefreshingToken;
  /** Default: a fresh `test-<uuid>` queue. */
  taskQueue?: string;
  /** Worker options on top of the reference workflows (bundled once) and activities. */
  worker?: Partial<RunWorkerOptions['worker']>;
}

/**
 * A supervised worker running the reference application on its own task queue, with the stack's
 * worker certificate unless `tls` says otherwise, and no shutdown signals (the test shuts it down).
 */
export async function startTestWorker(
  config: DevConfig,
  options: TestWorkerOptions,
): Promise<{ supervised: SupervisedWorker; taskQueue: string }> {
  const { token, taskQueue = `test-${randomUUID()}`, worker, ...supervision } = options;
  const supervised = await startWorker({
    address: config.temporal.address,
    tls: devTls(config),
    shutdownSignals: [],
    ...supervision,
    token,
    worker: {
      taskQueue,
      activities,
      ...(worker?.workflowsPath ? {} : { workflowBundle: await referenceWorkflowBundle() }),
      ...worker,
    },
  });
  return { supervised, taskQueue };
}

/** A tokenrelay client connection (mTLS + refreshing JWT) and a Client on the stack's namespace. */
export async function connectTestClient(
  config: DevConfig,
  options: {
    token: RefreshingToken;
    tls?: TlsOptions;
    onAuthRejected?: (event: AuthRejectedEvent) => void;
  },
): Promise<{ connection: ClientConnection; client: Client }> {
  const connection = await connectClient({
    address: config.temporal.address,
    tls: options.tls ?? devTls(config),
    token: options.token,
    ...(options.onAuthRejected ? { onAuthRejected: options.onAuthRejected } : {}),
  });
  return { connection, client: new Client({ connection, namespace: config.temporal.namespace }) };
}
