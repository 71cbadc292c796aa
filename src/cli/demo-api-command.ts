import type { Command } from 'commander';
import { startDemoApi } from '../reference/demo-api.js';
import { serveInForeground } from './foreground.js';

/** `demo-api start`: the reference application's protected API; `dev up` runs it in the background. */
export function registerDemoApiCommand(program: Command): void {
  program
    .command('demo-api')
    .description("the reference application's protected HTTP API (started by `dev up`)")
    .command('start')
    .description('run the demo API in the foreground')
    .requiredOption('--config <path>', 'demo API config file (JSON, written by dev up)')
    .action((opts: { config: string }) =>
      serveInForeground('demo_api_listening', () => startDemoApi(opts.config)),
    );
}
