import type { Command } from 'commander';
import { startIssuer } from '../issuer/run.js';

export function registerIssuerCommands(program: Command): void {
  const issuer = program.command('issuer').description('the token issuer service');
  issuer
    .command('start')
    .description('run the issuer in the foreground (logs JSON lines to stdout)')
    .requiredOption('--config <path>', 'issuer config file (JSON)')
    .action(async (opts: { config: string }) => {
      const running = await startIssuer(opts.config);
      process.stdout.write(`${JSON.stringify({ event: 'issuer_listening', url: running.url })}\n`);
      const shutdown = () => {
        running.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
