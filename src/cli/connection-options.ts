import { stat } from 'node:fs/promises';
import { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { ClientCredentialsTokenSource } from '../auth/client-credentials.js';
import { RefreshingToken } from '../auth/refreshing-token.js';
import { codecFromEnv } from '../codec/codec-keys.js';
import {
  type DevAppName,
  type DevConfig,
  devCodec,
  devTls,
  devToken,
  readDevConfig,
} from '../devstack/dev-config.js';
import { devLayout } from '../devstack/layout.js';
import { connectClient } from '../temporal/connect.js';
import { type ConnectionSettings, resolveConnectionSettings } from '../temporal/settings.js';
import type { TlsOptions } from '../temporal/tls.js';
import { type ConnectionFlags, devAppNames } from './connection-flags.js';
import { CliError } from './errors.js';

export interface OpenedClient {
  client: Client;
  close(): Promise<void>;
}

/**
 * A Temporal client for a command: the dev stack (the `devApp` application's token — `--dev-app`
 * wins — and its payload codec)
 * when no connection setting is given anywhere, else flags over `TEMPORAL_*` over the profile, with
 * the Temporal token from `TOKENRELAY_TOKEN_URL` / `TOKENRELAY_CLIENT_ID` / `TOKENRELAY_CLIENT_SECRET`
 * and the codec from `TOKENRELAY_CODEC_KEYS`.
 */
export async function openClient(
  flags: ConnectionFlags,
  devApp: DevAppName = 'developer',
): Promise<OpenedClient> {
  const explicit =
    flags.address !== undefined || flags.profile !== undefined || process.env.TEMPORAL_ADDRESS !== undefined;
  if (!explicit && (await devStackConfigured())) {
    return openDevClient(await readDevConfig(), devAppFlag(flags.devApp, devApp), flags.namespace);
  }

  const tokenUrl = process.env.TOKENRELAY_TOKEN_URL;
  const clientId = process.env.TOKENRELAY_CLIENT_ID;
  const clientSecret = process.env.TOKENRELAY_CLIENT_SECRET;
  if (!tokenUrl || !clientId || !clientSecret) {
    throw new CliError(
      'cli.invalid_argument',
      'set TOKENRELAY_TOKEN_URL, TOKENRELAY_CLIENT_ID and TOKENRELAY_CLIENT_SECRET for the Temporal token ' +
        '(or run `tokenrelay dev up` and leave the connection flags out to use the dev stack)',
    );
  }
  const token = new RefreshingToken({
    source: new ClientCredentialsTokenSource({ tokenUrl, clientId, clientSecret }),
  });
  const tls = tlsFromFlags(flags);
  const settings: ConnectionSettings = {
    ...(flags.address ? { address: flags.address } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    ...(tls ? { tls } : {}),
    envConfig: flags.profile ? { profile: flags.profile } : {},
  };
  return openWith(token, settings, async () => codecFromEnv());
}

/** A client on the dev stack as one of its applications, with the dev payload codec. */
export async function openDevClient(
  config: DevConfig,
  app: DevAppName,
  namespace?: string,
): Promise<OpenedClient> {
  const settings: ConnectionSettings = {
    address: config.temporal.address,
    namespace: namespace ?? config.temporal.namespace,
    tls: devTls(config),
  };
  return openWith(devToken(config, app), settings, () => devCodec(config));
}

function devAppFlag(value: string | undefined, fallback: DevAppName): DevAppName {
  if (value === undefined) return fallback;
  if ((devAppNames as readonly string[]).includes(value)) return value as DevAppName;
  throw new CliError(
    'cli.invalid_argument',
    `--dev-app must be one of ${devAppNames.join(', ')}, got "${value.slice(0, 40)}"`,
  );
}

/** Connects with `token` (which the returned close() stops) and wraps the connection in a Client. */
async function openWith(
  token: RefreshingToken,
  settings: ConnectionSettings,
  codec: () => Promise<PayloadCodec | undefined>,
): Promise<OpenedClient> {
  try {
    const { namespace } = resolveConnectionSettings(settings, 'tokenrelay');
    const connection = await connectClient({ ...settings, token });
    const payloadCodec = await codec();
    const client = new Client({
      connection,
      namespace,
      ...(payloadCodec ? { dataConverter: { payloadCodecs: [payloadCodec] } } : {}),
    });
    return {
      client,
      async close() {
        await connection.close();
        token.stop();
      },
    };
  } catch (err) {
    token.stop();
    throw err;
  }
}

function tlsFromFlags(flags: ConnectionFlags): TlsOptions | undefined {
  const any = flags.tlsCertPath ?? flags.tlsKeyPath ?? flags.tlsCaPath ?? flags.tlsServerName;
  if (any === undefined) return undefined;
  return {
    ...(flags.tlsCertPath ? { clientCertPath: flags.tlsCertPath } : {}),
    ...(flags.tlsKeyPath ? { clientKeyPath: flags.tlsKeyPath } : {}),
    ...(flags.tlsCaPath ? { caCertPath: flags.tlsCaPath } : {}),
    ...(flags.tlsServerName ? { serverName: flags.tlsServerName } : {}),
  };
}

async function devStackConfigured(): Promise<boolean> {
  return stat(devLayout().devConfigPath).then(
    () => true,
    () => false,
  );
}
