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
