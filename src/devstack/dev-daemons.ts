import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { spawnDaemon } from './daemon.js';
import type { DevConfig } from './dev-config.js';
import type { DevLayout } from './layout.js';
import { temporalServerCommand } from './temporal-config.js';

// Starting the dev stack's three background processes, each from the config file rendered for it
// (service-config-files.ts, temporal-config.ts). Whether they became ready: readiness.ts.

export function startIssuerDaemon(layout: DevLayout): Promise<void> {
  return startCliDaemon(
    ['issuer', 'start'],
    layout.issuerConfigPath,
    layout.issuerLogPath,
    layout.issuerPidPath,
  );
}

export function startDemoApiDaemon(layout: DevLayout): Promise<void> {
  return startCliDaemon(
    ['demo-api', 'start'],
    layout.demoApiConfigPath,
    layout.demoApiLogPath,
    layout.demoApiPidPath,
  );
}

export async function startTemporalDaemon(
  layout: DevLayout,
  serverBinary: string,
  config: DevConfig,
  portBase: number,
): Promise<void> {
  const command = await temporalServerCommand(layout, serverBinary, config, portBase);
  await spawnDaemon({
    ...command,
    env: temporalServerEnv(command.env),
    logPath: layout.temporalLogPath,
    pidPath: layout.temporalPidPath,
    // The config file path (`--config-file <path>`) tells our server from a recycled pid.
    marker: command.args[1] as string,
  });
}

/** Runs `tokenrelay <command> --config <configPath>` in the background; the config path marks the pid. */
async function startCliDaemon(
  command: string[],
  configPath: string,
  logPath: string,
  pidPath: string,
): Promise<void> {
  await spawnDaemon({
    command: process.execPath,
    args: [join(packageRoot(), 'bin', 'tokenrelay.js'), ...command, '--config', configPath],
    logPath,
    pidPath,
    marker: configPath,
  });
}

/**
 * The dev server's environment: the caller's, with Go's collector running less often unless GOGC is
 * set. A dev server is small (~135 MB) and spends much of its CPU collecting: GOGC=400 cut its idle
 * CPU by ~20 % for ~50 MB more memory, which matters on a laptop running a stack per checkout.
 */
export function temporalServerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.GOGC === undefined || env.GOGC === '' ? { ...env, GOGC: '400' } : env;
}
