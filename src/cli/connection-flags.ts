import type { Command } from 'commander';
import type { DevAppName } from '../devstack/dev-config.js';

// The connection flags alone, apart from connection-options.ts, so that defining a command does not
// load Temporal's client: only running one that connects does (see program.ts).

export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  profile?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
  /** Which dev application's token to use on the dev stack; each command has a least-privilege default. */
  devApp?: string;
}

/**
 * Adds the Temporal connection flags, named as in the Temporal CLI. Without any of them (and without
 * `TEMPORAL_ADDRESS`), commands use the dev stack's dev.json.
 */
export function withConnectionOptions(command: Command): Command {
  return command
    .option(
      '--address <host:port>',
      'Temporal frontend (default: TEMPORAL_ADDRESS, the profile, or the dev stack)',
    )
    .option('-n, --namespace <name>', 'namespace (default: TEMPORAL_NAMESPACE, the profile, or default)')
    .option('--profile <name>', 'temporal.toml profile (default: TEMPORAL_PROFILE or default)')
    .option('--tls-cert-path <path>', 'client certificate (default: TEMPORAL_TLS_CLIENT_CERT_PATH)')
    .option('--tls-key-path <path>', 'client key (default: TEMPORAL_TLS_CLIENT_KEY_PATH)')
    .option('--tls-ca-path <path>', 'server CA (default: TEMPORAL_TLS_SERVER_CA_CERT_PATH)')
    .option('--tls-server-name <name>', 'server name to verify (default: TEMPORAL_TLS_SERVER_NAME)')
    .option(
      '--dev-app <name>',
      `dev stack only: the dev application whose token to use (${devAppNames.join(', ')}; default: the least privileged one the command needs)`,
    );
}

export const devAppNames: readonly DevAppName[] = [
  'developer',
  'rotator',
  'reader',
  'worker',
  'admin',
  'outsider',
  'apiClient',
];
