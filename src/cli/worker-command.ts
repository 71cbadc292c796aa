import type { Command } from 'commander';
import { readDevConfig } from '../devstack/dev-config.js';
import { REFERENCE_TASK_QUEUE } from './reference-app.js';

/** `worker`: runs the reference worker against the dev stack until Ctrl-C (`npm run worker`). */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run the reference worker on the dev stack until interrupted (Ctrl-C shuts it down gracefully)',
    )
    .action(async () => {
      const config = await readDevConfig();
      // Loaded on use: it needs the repository's activities/ and workflows/.
      const { startReferenceWorker } = await import('./reference-worker.js');
      const worker = await startReferenceWorker(config);
      process.stderr.write(
        `Reference worker polling ${REFERENCE_TASK_QUEUE} on ${config.temporal.address} (mTLS + JWT); Ctrl-C to stop\n`,
      );
      await worker.supervised.done;
      await worker.close();
    });
}
