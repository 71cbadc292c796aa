import {
  type ClientConfigProfile,
  type ConfigDataSource,
  loadClientConfigProfile,
} from '@temporalio/envconfig';
import { TemporalConnectError } from './errors.js';
import type { TlsOptions } from './tls.js';

/**
 * Where a connection goes and with which TLS material. Anything not given here is read the way the
 * Temporal CLI reads it (`@temporalio/envconfig`): a profile in `temporal.toml` and the `TEMPORAL_*`
 * environment variables. Explicit options win over both.
 */
export interface ConnectionSettings {
  /** `host:port` of the Temporal frontend. Default: the profile's address / `TEMPORAL_ADDRESS`. */
  address?: string;
  /** Default: the profile's namespace / `TEMPORAL_NAMESPACE`, else `default`. */
  namespace?: string;
  /** mTLS material. Default: the profile's TLS settings / `TEMPORAL_TLS_*`. */
  tls?: TlsOptions;
  /**
   * How to read the Temporal CLI's configuration, or `false` to read none of it. Default: profile
   * `TEMPORAL_PROFILE` or `default`, from `TEMPORAL_CONFIG_FILE` or the standard location, plus env.
   */
  envConfig?: EnvConfigOptions | false;
}

export interface EnvConfigOptions {
  /** Profile name. Default: `TEMPORAL_PROFILE`, else `default`. */
  profile?: string;
  /** A `temporal.toml` path used instead of the standard location. */
  configFile?: string;
  /** Environment to read instead of `process.env` (handy in tests). */
  env?: Record<string, string | undefined>;
}

export interface ResolvedSettings {
  address: string;
  namespace: string;
  tls: TlsOptions;
}

/**
 * Merges explicit settings over the Temporal CLI configuration and checks the result is complete.
 * tokenrelay insists on TLS (the whole point is a secured cluster) and supplies the token itself, so
 * a profile that disables TLS or carries its own API key is rejected rather than silently ignored.
 */
export function resolveConnectionSettings(settings: ConnectionSettings, fn: string): ResolvedSettings {
  if (!settings || typeof settings !== 'object') throw new TypeError(`${fn}: options are required`);
  // Fully explicit settings do not read the CLI configuration unless asked: an unrelated broken
  // temporal.toml must not stop a worker that never needed it.
  const explicit = settings.address !== undefined && settings.tls !== undefined;
  const readProfile = settings.envConfig !== false && (!explicit || settings.envConfig !== undefined);
  const profile = readProfile ? loadProfile(settings.envConfig || {}, fn) : {};
  // Only a profile we actually take settings from can conflict with ours.
  if (!explicit && profile.apiKey !== undefined) {
    throw new TypeError(
      `${fn}: the Temporal profile sets an API key (api_key / TEMPORAL_API_KEY); tokenrelay supplies the ` +
        'token from options.token, so remove the API key from the profile',
    );
  }
  if (profile.tls?.disabled === true && settings.tls === undefined) {
    throw new TypeError(
      `${fn}: the Temporal profile disables TLS; tokenrelay connects only over mTLS, so enable TLS in ` +
        'the profile or pass options.tls',
    );
  }
  const address = settings.address ?? profile.address;
  if (typeof address !== 'string' || !/^[^:\s]+:\d+$/.test(address)) {
    throw new TypeError(
      address === undefined
        ? `${fn}: options.address is required ("host:port"), or set TEMPORAL_ADDRESS or a profile address`
        : `${fn}: options.address must be "host:port", got ${JSON.stringify(address)}`,
    );
  }
  const tls = settings.tls ?? (profile.tls ? fromProfileTls(profile.tls) : undefined);
  if (tls === undefined) {
    throw new TypeError(
      `${fn}: options.tls is required (mTLS material), or set TEMPORAL_TLS_CLIENT_CERT_PATH and ` +
        'TEMPORAL_TLS_CLIENT_KEY_PATH (and the CA) or a profile [profile.<name>.tls] section',
    );
  }
  return { address, namespace: settings.namespace ?? profile.namespace ?? 'default', tls };
}

function loadProfile(options: EnvConfigOptions, fn: string): ClientConfigProfile {
  const env = options.env ?? process.env;
  const envVars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) envVars[k] = v;
  try {
    return loadClientConfigProfile({
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      ...(options.configFile !== undefined ? { configSource: { path: options.configFile } } : {}),
      overrideEnvVars: envVars,
    });
  } catch (cause) {
    throw new TemporalConnectError(
      'temporal.config_invalid',
      `${fn}: cannot read the Temporal client configuration: ${(cause as Error).message}`,
      { cause },
    );
  }
}

/** Keeps file paths as paths, so certificate rotation can watch them. */
function fromProfileTls(tls: NonNullable<ClientConfigProfile['tls']>): TlsOptions {
  const out: TlsOptions = {};
  if (tls.serverName !== undefined) out.serverName = tls.serverName;
  assign(out, 'caCert', tls.serverCACert);
  assign(out, 'clientCert', tls.clientCert);
  assign(out, 'clientKey', tls.clientKey);
  return out;
}

function assign(
  out: TlsOptions,
  name: 'caCert' | 'clientCert' | 'clientKey',
  source: ConfigDataSource | undefined,
): void {
  if (source === undefined) return;
  if ('path' in source) out[`${name}Path`] = source.path;
  else out[name] = typeof source.data === 'string' ? source.data : Buffer.from(source.data);
}
