import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { DevConfig } from './dev-config.js';
import type { DevLayout } from './layout.js';

/** The services the dev Temporal server runs in its one process. */
export const temporalServices = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'] as const;

/**
 * How the dev stack runs the Temporal server: temporal-dev.yml rendered with the stack's state
 * folder, ports, JWKS URL, audience and JWKS refresh interval. Shared by `dev up` (in the background)
 * and `server start` (in the foreground).
 */
export async function temporalServerCommand(
  layout: DevLayout,
  serverBinary: string,
  config: DevConfig,
  portBase: number = config.portBase,
): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string }> {
  // Written by dev up; `server start` on an older state folder gets the base settings.
  if (!(await stat(layout.dynamicConfigPath).catch(() => undefined))) {
    await writeDynamicConfig(layout, {});
  }
  const configFile = join(packageRoot(), 'temporal-dev.yml');
  return {
    command: serverBinary,
    args: ['--config-file', configFile, 'start', ...temporalServices.flatMap((s) => ['--service', s])],
    env: {
      ...process.env,
      TOKENRELAY_STATE_DIR: layout.root,
      // The server derives its ports from this, so it must match the plan the issuer and dev.json use.
      TOKENRELAY_PORT_BASE: String(portBase),
      // Over HTTPS: Go trusts the dev CA through SSL_CERT_FILE (it then uses that file instead of the
      // system roots, which the dev server never needs).
      TOKENRELAY_JWKS_URL: `${config.issuer.url}/.well-known/jwks.json`,
      SSL_CERT_FILE: config.temporal.caCertPath,
      TOKENRELAY_JWT_AUDIENCE: config.issuer.audience,
      // Must match verifierJwksRefreshSeconds in issuer.json: the rotation schedule relies on it.
      TOKENRELAY_JWKS_REFRESH: `${config.issuer.jwksRefreshSeconds}s`,
      // tokenrelay's authorizer (server/README.md): the only issuer whose tokens count, and where
      // every decision on a token-sensitive call is written.
      TOKENRELAY_AUTHZ_ISSUER: config.issuer.url,
      TOKENRELAY_AUTHZ_AUDIT_LOG: join(layout.logsDir, 'authz-audit.log'),
    },
    cwd: layout.temporalDir,
  };
}

/**
 * The dev server's dynamic config, for a single-node server on one machine:
 * - a registered namespace is visible within a second instead of ten;
 * - a timer fires within 100 ms of its time instead of up to a second late. Temporal moves every new
 *   timer to at least `history.timerProcessorMaxTimeShift` (default 1 s) after the shard's last queue
 *   read, a margin for clock skew between hosts and late database writes, which one process does not
 *   have. A StatefulWorkflow's 500 ms coalescing wait took about 1 s with the default.
 */
export const devDynamicConfig: Readonly<Record<string, string | number | boolean>> = {
  'system.namespaceCacheRefreshInterval': '1s',
  'history.timerProcessorMaxTimeShift': '100ms',
};

/** Temporal's dynamic config YAML for `settings`: each key with one unconstrained value. */
export function dynamicConfigYaml(settings: Readonly<Record<string, string | number | boolean>>): string {
  return Object.entries(settings)
    .map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n`)
    .join('');
}

/** Writes {@link devDynamicConfig} plus `extra` (which wins) where the dev server reads it. */
export async function writeDynamicConfig(
  layout: DevLayout,
  extra: Record<string, string | number | boolean>,
): Promise<void> {
  await writeFile(layout.dynamicConfigPath, dynamicConfigYaml({ ...devDynamicConfig, ...extra }));
}
