import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { devDown, devStatus, devUp } from '../devstack/dev-stack.js';
import { devLayout } from '../devstack/layout.js';
import { parsePositiveInt } from './option-parsers.js';
import { devUpReporter } from './progress.js';

export function registerDevCommands(program: Command): void {
  const dev = program
    .command('dev')
    .description('the local secured stack: issuer + demo API + Temporal (mTLS, JWT)');

  dev
    .command('up')
    .description('start the issuer and Temporal in the background (reuses a running stack)')
    .option('--reset', 'wipe all dev state (PKI, keys, applications, Temporal data) first')
    .option('--token-lifetime <seconds>', 'lifetime of tokens the dev issuer grants', parsePositiveInt)
    .option('--json', 'print the resulting dev.json path and addresses as JSON')
    .action(async (opts: { reset?: boolean; tokenLifetime?: number; json?: boolean }) => {
      const result = await devUp({
        reset: opts.reset ?? false,
        ...(opts.tokenLifetime ? { tokenLifetimeSeconds: opts.tokenLifetime } : {}),
        onStep: devUpReporter(),
      });
      const summary = {
        reused: result.reused,
        configPath: result.configPath,
        temporal: result.config.temporal.address,
        issuer: result.config.issuer.url,
        demoApi: result.config.demoApi.url,
      };
      if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        process.stdout.write(
          `${result.reused ? 'Reusing the running stack' : 'Dev stack is up'}: Temporal ${summary.temporal}, issuer ${summary.issuer}, demo API ${summary.demoApi}\n` +
            `Connection details (with dev credentials, mode 0600): ${summary.configPath}\n`,
        );
      }
    });

  dev
    .command('down')
    .description('stop Temporal, the demo API and the issuer')
    .action(async () => {
      const { stopped } = await devDown();
      process.stdout.write(stopped.length ? `Stopped ${stopped.join(', ')}\n` : 'Nothing was running\n');
    });

  dev
    .command('status')
    .description('show whether the issuer and Temporal are running')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      // The stack lives in TOKENRELAY_HOME or ./.tokenrelay: from another folder there is none to
      // report on, which is not the same as a stopped one.
      const home = devLayout().root;
      const found = existsSync(home);
      const status = await devStatus();
      if (opts.json) process.stdout.write(`${JSON.stringify({ home, found, ...status })}\n`);
      else if (!found) {
        process.stdout.write(
          `No dev stack in ${home}: run this from the folder where you ran \`tokenrelay dev up\`, ` +
            'or set TOKENRELAY_HOME to that stack’s .tokenrelay folder\n',
        );
      } else {
        const line = (name: string, s: { running: boolean; pid: number | undefined }) =>
          `${name}: ${s.running ? `running (pid ${s.pid})` : 'stopped'}\n`;
        process.stdout.write(
          `dev stack: ${home}\n` +
            line('issuer', status.issuer) +
            line('demo API', status.demoApi) +
            line('temporal', status.temporal),
        );
      }
      if (!status.issuer.running || !status.demoApi.running || !status.temporal.running) process.exitCode = 3;
    });
}
