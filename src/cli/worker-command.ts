import type { Command } from 'commander';
import { readDevConfig } from '../devstack/dev-config.js';
import { REFERENCE_TASK_QUEUE } from '../reference/names.js';
import { startDevRotationWorker } from './rotation-worker.js';

/**
 * `worker`: runs the reference worker and the built-in rotation worker against the dev stack until
 * Ctrl-C (`npm run worker`): the tree `npm start` leaves keeps calling the API, and its scheduled
 * rotations keep its token fresh.
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run the reference worker and the rotation worker on the dev stack until interrupted (Ctrl-C shuts them down gracefully)',
    )
    .action(async () => {
      const config = await readDevConfig();
      // Loaded on use: it needs the repository's activities/ and workflows/.
      const { startReferenceWorker } = await import('../reference/worker.js');
      const worker = await startReferenceWorker(config);
      const rotation = await startDevRotationWorker(config).catch(async (err: unknown) => {
        await worker.close();
        throw err;
      });
      process.stderr.write(
        `Reference worker polling ${REFERENCE_TASK_QUEUE} and rotation worker polling ${rotation.taskQueue} ` +
          `on ${config.temporal.address} (mTLS + JWT); Ctrl-C to stop\n`,
      );
      await Promise.all([worker.supervised.done, rotation.supervised.done]);
      await Promise.all([worker.close(), rotation.close()]);
    });
}
