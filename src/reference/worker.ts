import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { createReferenceActivities } from '../../activities/index.js';
import { type DevConfig, startDevWorker } from '../dev.js';
import { type SupervisedWorker, startWorker } from '../index.js';
import { REFERENCE_TASK_QUEUE } from './names.js';

export interface ReferenceWorker {
  supervised: SupervisedWorker;
  /** A client on the same stack, with the codec, for starting and rotating trees. */
  client: Client;
  close(): Promise<void>;
}

export interface ReferenceWorkerOptions {
  logger?: Logger;
  /** Default: SIGINT and SIGTERM shut the worker down (`startWorker`'s default). */
  shutdownSignals?: NodeJS.Signals[];
  /**
   * The reference workflows already bundled (`bundleWorkflowCode({ workflowsPath: referenceWorkflowsPath() })`
   * or its output on disk), so that several workers in one process, or a process started again, need not
   * run webpack each time (seconds of CPU). Default: bundled from {@link referenceWorkflowsPath} at start.
   */
  workflowBundle?: WorkflowBundleOption;
}

/**
 * The reference application's worker on the dev stack: mTLS + a refreshing JWT, the dev payload codec
 * (tokens in signals stay encrypted in history), and activities that read the token at attempt time.
 *
 * @example
 * ```ts
 * const workflowBundle = await bundleWorkflowCode({ workflowsPath: referenceWorkflowsPath() });
 * const worker = await startReferenceWorker(config, { workflowBundle });
 * ```
 */
export async function startReferenceWorker(
  config: DevConfig,
  options: ReferenceWorkerOptions = {},
): Promise<ReferenceWorker> {
  return startDevWorker(config, 'worker', ({ client, ...connection }) =>
    startWorker({
      ...connection,
      worker: {
        taskQueue: REFERENCE_TASK_QUEUE,
        ...(options.workflowBundle
          ? { workflowBundle: options.workflowBundle }
          : { workflowsPath: referenceWorkflowsPath() }),
        activities: createReferenceActivities(client),
      },
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    }),
  );
}

/**
 * The reference workflows next to this module: the TypeScript in a source checkout (run through tsx),
 * the compiled JavaScript in an installed package, which ships `dist/workflows` and no sources.
 */
export function referenceWorkflowsPath(): string {
  const source = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
}
