import { readFile } from 'node:fs/promises';
import { ClientCredentialsTokenSource } from '../auth/client-credentials.js';
import { RefreshingToken, type RefreshingTokenOptions } from '../auth/refreshing-token.js';
import { AesGcmPayloadCodec } from '../codec/aes-gcm-codec.js';
import { parseCodecKeys } from '../codec/codec-keys.js';
import { writeJsonFileAtomic } from '../json-file.js';
import type { TlsOptions } from '../temporal/tls.js';
import { devIssuerDispatcher } from './dev-ca-dispatcher.js';
import { DevStackError } from './errors.js';
import { devLayout } from './layout.js';

export interface DevAppCredentials {
  clientId: string;
  clientSecret: string;
  permissions: string[];
}

/** The dev stack's address book, `.tokenrelay/dev.json` (mode 0600): everything a tool needs to connect. */
export interface DevConfig {
  /** First port of the stack's port plan (see devPorts). */
  portBase: number;
  temporal: {
    address: string;
    namespace: string;
    serverName: string;
    caCertPath: string;
    clientCertPath: string;
    clientKeyPath: string;
    /** The admin client certificate (same CA), for operator tools. */
    adminCertPath: string;
    adminKeyPath: string;
    /** The server's Prometheus endpoint (`http://127.0.0.1:<port>/metrics`). */
    metricsUrl: string;
  };
  issuer: {
    url: string;
    tokenUrl: string;
    jwksUrl: string;
    audience: string;
    /** How often Temporal re-reads the JWKS (and so how early a new signing key is published). */
    jwksRefreshSeconds: number;
  };
  /** The reference application's protected API, and the audience its tokens are issued for. */
  demoApi: { url: string; audience: string };
  /**
   * Payload encryption keys (`TOKENRELAY_CODEC_KEYS` format: `id:base64,…`, first encrypts). Kept
   * across `dev up` runs, since existing histories can only be read with them.
   */
  codec: { keys: string };
  /**
   * worker: the reference worker's task queue, workflow types and raw-token reads only; developer:
   * `default:write` plus token read and rotate; rotator: `default:read` plus token rotate; admin:
   * `temporal-system:admin`; rotationWorker: the built-in rotator's worker (`default:read`,
   * `default:token.rotate`, `default:taskqueue.poll:tokenrelay-rotation`); reader: `default:read`; outsider: another namespace only; apiClient:
   * tokens for the demo API's audience (what a rotator puts in workflows).
   */
  apps: Record<DevAppName, DevAppCredentials>;
}

export type DevAppName =
  | 'worker'
  | 'developer'
  | 'rotator'
  | 'rotationWorker'
  | 'admin'
  | 'reader'
  | 'outsider'
  | 'apiClient';

export async function readDevConfig(path: string = devLayout().devConfigPath): Promise<DevConfig> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DevConfig;
  } catch (cause) {
    throw new DevStackError(
      'devstack.not_running',
      `no dev stack found at ${path}: run \`npx tokenrelay dev up\` first`,
      { cause },
    );
  }
}

export async function writeDevConfig(path: string, config: DevConfig): Promise<void> {
  await writeJsonFileAtomic(path, config);
}

/** A RefreshingToken for one of the dev applications, fetched from the dev issuer. */
export function devToken(
  config: DevConfig,
  app: DevAppName = 'developer',
  options: Omit<RefreshingTokenOptions, 'source'> = {},
): RefreshingToken {
  const creds = config.apps[app];
  // Over the issuer's HTTPS listener, trusting the dev CA only (a dev.json from before HTTPS: tokenUrl).
  const https = config.issuer.url.startsWith('https:');
  return new RefreshingToken({
    ...options,
    source: new ClientCredentialsTokenSource({
      tokenUrl: https ? `${config.issuer.url}/oauth/token` : config.issuer.tokenUrl,
      clientId: creds.clientId,
      clientSecret: creds.clientSecret,
      ...(https ? { dispatcher: devIssuerDispatcher(config.temporal.caCertPath) } : {}),
    }),
  });
}

/** The dev stack's payload codec: what workers and clients on it use to keep tokens out of history. */
export function devCodec(config: DevConfig): Promise<AesGcmPayloadCodec> {
  return AesGcmPayloadCodec.create(parseCodecKeys(config.codec.keys));
}

/** mTLS options for the dev stack, with the worker's (default) or the admin's client certificate. */
export function devTls(config: DevConfig, who: 'worker' | 'admin' = 'worker'): TlsOptions {
  const t = config.temporal;
  return {
    serverName: t.serverName,
    caCertPath: t.caCertPath,
    clientCertPath: who === 'worker' ? t.clientCertPath : t.adminCertPath,
    clientKeyPath: who === 'worker' ? t.clientKeyPath : t.adminKeyPath,
  };
}
