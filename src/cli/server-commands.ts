import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { readDevConfig } from '../devstack/dev-config.js';
import { temporalServerCommand } from '../devstack/dev-stack.js';
import { devLayout } from '../devstack/layout.js';
import { ensureTokenrelayServer } from '../devstack/temporal-install.js';
import { devUpReporter } from './progress.js';

export function registerServerCommands(program: Command): void {
  program
    .command('server')
    .description('the Temporal server of the dev stack')
    .command('start')
    .description(
      'run Temporal in the foreground with temporal-dev.yml (mTLS required, JWT authorization on); needs the dev PKI and issuer from `dev up` (stop the background server first with `dev down`)',
    )
    .action(async () => {
      const layout = devLayout();
      const config = await readDevConfig(layout.devConfigPath);
      const report = devUpReporter();
      const binary = await ensureTokenrelayServer({
        onBuildStart: () => report({ step: 'build' }),
        onProgress: (progress) => report({ step: 'build', progress }),
      });
      const { command, args, env, cwd } = await temporalServerCommand(layout, binary, config);
      const child = spawn(command, args, { env, cwd, stdio: 'inherit' });
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
      const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
      process.exitCode = code;
    });
}
