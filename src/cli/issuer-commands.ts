import type { Command } from 'commander';
import { startIssuer } from '../issuer/run.js';
import { serveInForeground } from './foreground.js';

export function registerIssuerCommands(program: Command): void {
  const issuer = program.command('issuer').description('the token issuer service');
  issuer
    .command('start')
    .description('run the issuer in the foreground (logs JSON lines to stdout)')
    .requiredOption('--config <path>', 'issuer config file (JSON)')
    .action((opts: { config: string }) =>
      serveInForeground('issuer_listening', () => startIssuer(opts.config)),
    );
}
