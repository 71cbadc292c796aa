import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import { devUp } from '../devstack/dev-stack.js';
import { runSmokeWorkflow } from '../temporal/smoke.js';
import { devUpReporter } from './progress.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('the main job: bring up the dev stack and run a workflow through mTLS + JWT')
    .action(async () => {
      // The worker's per-state INFO lines drown the story this command tells; warnings still show.
      Runtime.install({ logger: new DefaultLogger('WARN') });
      const { config, reused } = await devUp({ onStep: devUpReporter() });
      if (reused)
        process.stderr.write(`Reusing the running dev stack (Temporal ${config.temporal.address})\n`);
      process.stderr.write('Running smokeWorkflow with the worker application token...\n');
      const result = await runSmokeWorkflow(config);
      process.stdout.write(`smokeWorkflow result: ${result}\n`);
      process.stdout.write('The stack keeps running; stop it with: npx tokenrelay dev down\n');
    });
}
