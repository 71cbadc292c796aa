import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import { devUp } from '../devstack/dev-stack.js';
import { runRotationTour } from '../reference/rotation-tour.js';
import { openDevClient } from './connection-options.js';
import { devUpReporter } from './progress.js';
import { startDevRotationWorker } from './rotation-worker.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'the main job: bring up the secured stack, run the reference worker and a workflow tree, and rotate its API token live',
    )
    .option('--json', 'print the summary as JSON on stdout (progress goes to stderr)')
    .action(async (opts: { json?: boolean }) => {
      // The worker's per-state INFO lines drown the story this command tells; warnings still show.
      // Core's own lines are forwarded to that logger (stderr): left to themselves they go to
      // stdout, where a late warning (e.g. a query answered after its task expired) broke --json.
      Runtime.install({
        logger: new DefaultLogger('WARN'),
        telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } },
      });
      const out = opts.json ? process.stderr : process.stdout;
      const started = Date.now();
      const { config, reused } = await devUp({ onStep: devUpReporter() });
      if (reused) out.write(`Reusing the running dev stack (Temporal ${config.temporal.address})\n`);
      out.write('Starting the reference worker (mTLS + refreshing JWT, payloads encrypted)...\n');
      // Loaded on use: it needs the repository's activities/ and workflows/.
      const { startReferenceWorker } = await import('../reference/worker.js');
      const reference = await startReferenceWorker(config, { shutdownSignals: [] });
      out.write('Starting the rotation worker (rotationWorker: may rotate, may not read tokens)...\n');
      const rotationWorker = await startDevRotationWorker(config, { shutdownSignals: [] }).catch(
        async (err) => {
          await reference.close();
          throw err;
        },
      );
      const worker = {
        close: () => Promise.all([rotationWorker.close(), reference.close()]).then(() => undefined),
      };
      const developer = await openDevClient(config, 'developer').catch(async (err) => {
        await worker.close();
        throw err;
      });
      const rotator = await openDevClient(config, 'rotator').catch(async (err) => {
        await Promise.all([developer.close(), worker.close()]);
        throw err;
      });
      try {
        const summary = await runRotationTour(
          config,
          { developer: developer.client, rotator: rotator.client },
          out,
        );
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(summary)}\n`);
          return;
        }
        out.write(
          [
            '',
            'Summary',
            `  earlier tree replaced:              ${summary.previousTree.running > 0 ? `yes (${summary.previousTree.running} workflows: ${summary.previousTree.stopped} stopped, ${summary.previousTree.terminated} terminated)` : 'none was running'}`,
            `  workflows in the tree:              ${summary.workflows}`,
            `  rotation schedule:                  ${summary.scheduleId}, every ${summary.rotationEveryMs / 1000} s`,
            `  scheduled rotation reached all in:  ${summary.propagationMs} ms (${summary.rotation.outcome}, ${summary.rotation.holding}/${summary.rotation.nodes})`,
            `  API calls accepted with the new token: ${summary.acceptedWithNewToken}`,
            `  API refusals after revoking v1:     ${summary.rejectedAfterRevocation}`,
            `  v1 refused by the API when replayed: ${summary.oldTokenRefused ? 'yes' : 'NO'}`,
            `  total time:                         ${((Date.now() - started) / 1000).toFixed(1)} s`,
            '',
            'Explore further (the tree keeps running; it calls the API while a worker runs, and its token is',
            'rotated on schedule while a rotation worker runs; `npm start` again replaces tree and schedule):',
            '  npm run worker                                   # keep the reference worker running',
            '  npx tokenrelay rotation worker                   # and the rotation worker, in another terminal',
            `  npx tokenrelay rotation schedule describe --schedule-id ${summary.scheduleId}`,
            `  npx tokenrelay token info --workflow-id ${summary.rootWorkflowId}   # version, fingerprint, children`,
            `  npx tokenrelay token show --workflow-id ${summary.rootWorkflowId}   # redacted; --reveal to print`,
            `  npx tokenrelay token issue --app apiClient > new.jwt && npx tokenrelay token rotate --workflow-id ${summary.rootWorkflowId} --token-file new.jwt`,
            '  npx tokenrelay dev down                          # stop the stack',
            '',
          ].join('\n'),
        );
      } finally {
        await Promise.all([developer.close(), rotator.close()]);
        await worker.close();
      }
    });
}
