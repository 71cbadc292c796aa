import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isLoopback } from '../auth/client-credentials.js';
import { clientAddressResolver } from './client-address.js';
import { IssuerConfigError } from './errors.js';
import { type SigningAlgorithm, signingAlgorithms } from './signing-keys.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './token-lifetimes.js';

/** The issuer's settings file (JSON). Relative paths are resolved against the file's own folder. */
export interface IssuerConfig {
  /** `iss` claim. Default: `https://<host>:<port>` with `tls`, else `http://<host>:<port>`. */
  issuer: string;
  /** `aud` claim; the Temporal server must be configured with the same audience. */
  audience: string;
  /** Interface to listen on. Default 127.0.0.1. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Default 600. */
  defaultTokenLifetimeSeconds: number;
  /**
   * No token lives longer, whatever an application asks for: enforced when an application is created
   * or updated, and again when a token is minted. Default 86 400 (24 h). It also bounds how long a
   * retired signing key stays published.
   */
  maxTokenLifetimeSeconds: number;
  /**
   * Serve HTTPS with this certificate and key (PEM files). Both are re-read when they change, like the
   * worker's certificates, so a renewed certificate is served without a restart.
   */
  tls?: IssuerTlsConfig;
  /**
   * Plain HTTP is accepted only on a loopback interface; set this to serve it on any other address
   * (behind a TLS-terminating proxy on the same host or network). Default false.
   */
  allowInsecureHttp: boolean;
  /**
   * With `tls`: also serve plain HTTP on this port of 127.0.0.1 (never another address), for local
   * tools that cannot trust a private CA yet. Off by default; the dev stack uses it while its tools
   * move to HTTPS.
   */
  loopbackHttpPort?: number;
  /**
   * Reverse proxies whose `X-Forwarded-For` is believed (IP addresses or CIDR blocks). Without this
   * every client behind a proxy shares the proxy's address in the rate limit and the audit log.
   * Default none.
   */
  trustedProxies: string[];
  applicationsPath: string;
  signingKeysPath: string;
  /** Algorithm of newly created signing keys. Default ES256. */
  signingAlgorithm: SigningAlgorithm;
  /** JSON-lines audit log. Default `audit.log` next to the config file. */
  auditLogPath: string;
  /**
   * How often the verifiers (the Temporal server's `jwtKeyProvider.refreshInterval`) re-fetch the
   * JWKS. Default: `TOKENRELAY_JWKS_REFRESH` (a Go duration such as `30s`, the variable the dev
   * Temporal config reads), else 30.
   */
  verifierJwksRefreshSeconds: number;
  /**
   * How long a new signing key is published before it signs. Default: twice the verifier refresh
   * interval; must be at least that interval (docs/architecture.md §2, signing-key rotation).
   */
  signingKeyPublishAheadSeconds: number;
  /** Failed-authentication limits, per client IP and per key id. */
  rateLimit: RateLimitConfig;
}

export interface IssuerTlsConfig {
  certPath: string;
  keyPath: string;
  /** How often the files are checked for a change. Default 5000 ms. */
  reloadIntervalMs?: number;
}

export interface RateLimitConfig {
  /**
   * Failed attempts per key id answered normally within the window; further failed attempts get 429.
   * A correct secret is never refused by the limit (token-endpoint.ts explains why). Default 10.
   */
  maxFailures: number;
  /** Failed attempts per client address (IPv6: per /64) before its further failures get 429. Default 5×. */
  maxFailuresPerIp?: number;
  /** Sliding window length. Default 60. */
  windowSeconds: number;
}

/** `Cache-Control: max-age` of the JWKS: a cached copy plus one verifier refresh fit in the publish-ahead time. */
export function jwksMaxAgeSeconds(
  config: Pick<IssuerConfig, 'signingKeyPublishAheadSeconds' | 'verifierJwksRefreshSeconds'>,
): number {
  return Math.max(0, config.signingKeyPublishAheadSeconds - config.verifierJwksRefreshSeconds);
}

export async function loadIssuerConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<IssuerConfig> {
  let raw: Partial<IssuerConfig>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Partial<IssuerConfig>;
  } catch (cause) {
    throw new IssuerConfigError(`cannot read issuer config ${path}`, { cause });
  }
  return resolveIssuerConfig(raw ?? {}, path, env);
}

/** Fills defaults into a parsed config and validates it; `path` names the source in errors. */
export function resolveIssuerConfig(
  raw: Partial<IssuerConfig>,
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): IssuerConfig {
  const base = dirname(path);
  const host = raw.host ?? '127.0.0.1';
  const port = raw.port ?? 0;
  const refresh = raw.verifierJwksRefreshSeconds ?? envRefreshSeconds(env, path);
  const tls = raw.tls
    ? {
        ...raw.tls,
        certPath: resolve(base, String(raw.tls.certPath ?? '')),
        keyPath: resolve(base, String(raw.tls.keyPath ?? '')),
      }
    : undefined;
  const config: IssuerConfig = {
    host,
    port,
    issuer: raw.issuer ?? `${tls ? 'https' : 'http'}://${host}:${port}`,
    audience: raw.audience ?? '',
    defaultTokenLifetimeSeconds: raw.defaultTokenLifetimeSeconds ?? 600,
    maxTokenLifetimeSeconds: raw.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    ...(tls ? { tls } : {}),
    allowInsecureHttp: raw.allowInsecureHttp ?? false,
    ...(raw.loopbackHttpPort !== undefined ? { loopbackHttpPort: raw.loopbackHttpPort } : {}),
    trustedProxies: raw.trustedProxies ?? [],
    applicationsPath: resolve(base, raw.applicationsPath ?? 'applications.json'),
    signingKeysPath: resolve(base, raw.signingKeysPath ?? 'signing-keys.json'),
    signingAlgorithm: raw.signingAlgorithm ?? 'ES256',
    auditLogPath: resolve(base, raw.auditLogPath ?? 'audit.log'),
    verifierJwksRefreshSeconds: refresh,
    signingKeyPublishAheadSeconds: raw.signingKeyPublishAheadSeconds ?? 2 * refresh,
    rateLimit: {
      maxFailures: raw.rateLimit?.maxFailures ?? 10,
      maxFailuresPerIp: raw.rateLimit?.maxFailuresPerIp ?? 5 * (raw.rateLimit?.maxFailures ?? 10),
      windowSeconds: raw.rateLimit?.windowSeconds ?? 60,
    },
  };
  if (!config.audience) throw new IssuerConfigError(`${path}: "audience" is required`);
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new IssuerConfigError(`${path}: "port" must be an integer 0-65535`);
  }
  const positive: Array<[string, number]> = [
    ['defaultTokenLifetimeSeconds', config.defaultTokenLifetimeSeconds],
    ['maxTokenLifetimeSeconds', config.maxTokenLifetimeSeconds],
    ['verifierJwksRefreshSeconds', config.verifierJwksRefreshSeconds],
    ['signingKeyPublishAheadSeconds', config.signingKeyPublishAheadSeconds],
    ['rateLimit.maxFailures', config.rateLimit.maxFailures],
    ['rateLimit.windowSeconds', config.rateLimit.windowSeconds],
  ];
  for (const [name, value] of positive) {
    if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
      throw new IssuerConfigError(`${path}: "${name}" must be a positive number`);
    }
  }
  if (
    !Number.isInteger(config.defaultTokenLifetimeSeconds) ||
    !Number.isInteger(config.maxTokenLifetimeSeconds) ||
    !Number.isInteger(config.rateLimit.maxFailures)
  ) {
    throw new IssuerConfigError(
      `${path}: "defaultTokenLifetimeSeconds", "maxTokenLifetimeSeconds" and "rateLimit.maxFailures" must be integers`,
    );
  }
  if (config.defaultTokenLifetimeSeconds > config.maxTokenLifetimeSeconds) {
    throw new IssuerConfigError(
      `${path}: "defaultTokenLifetimeSeconds" (${config.defaultTokenLifetimeSeconds}) exceeds "maxTokenLifetimeSeconds" (${config.maxTokenLifetimeSeconds})`,
    );
  }
  if (config.tls && (!raw.tls?.certPath || !raw.tls?.keyPath)) {
    throw new IssuerConfigError(`${path}: "tls" needs "certPath" and "keyPath"`);
  }
  if (!config.tls && !config.allowInsecureHttp && !isLoopback(config.host)) {
    throw new IssuerConfigError(
      `${path}: plain HTTP on ${config.host} would carry client secrets unencrypted; configure "tls" (certPath, keyPath), listen on a loopback address, or set "allowInsecureHttp": true behind a TLS-terminating proxy`,
    );
  }
  if (config.loopbackHttpPort !== undefined) {
    const p = config.loopbackHttpPort;
    if (!config.tls || !Number.isInteger(p) || p < 0 || p > 65535) {
      throw new IssuerConfigError(
        `${path}: "loopbackHttpPort" is an integer 0-65535 and goes with "tls" (without it the issuer already speaks plain HTTP)`,
      );
    }
  }
  if (!Array.isArray(config.trustedProxies) || !config.trustedProxies.every((p) => typeof p === 'string')) {
    throw new IssuerConfigError(`${path}: "trustedProxies" must be a list of IP addresses or CIDR blocks`);
  }
  try {
    clientAddressResolver(config.trustedProxies);
  } catch (err) {
    throw new IssuerConfigError(`${path}: ${(err as Error).message}`);
  }
  if (config.signingKeyPublishAheadSeconds < config.verifierJwksRefreshSeconds) {
    throw new IssuerConfigError(
      `${path}: "signingKeyPublishAheadSeconds" (${config.signingKeyPublishAheadSeconds}) must be at least "verifierJwksRefreshSeconds" (${config.verifierJwksRefreshSeconds}), or verifiers may see tokens signed by a key they do not know yet`,
    );
  }
  if (!signingAlgorithms.includes(config.signingAlgorithm)) {
    throw new IssuerConfigError(`${path}: "signingAlgorithm" must be one of ${signingAlgorithms.join(', ')}`);
  }
  return config;
}

function envRefreshSeconds(env: NodeJS.ProcessEnv, path: string): number {
  const text = env.TOKENRELAY_JWKS_REFRESH;
  if (text === undefined || text === '') return 30;
  const seconds = parseGoDuration(text);
  if (seconds === undefined || seconds <= 0) {
    throw new IssuerConfigError(
      `${path}: TOKENRELAY_JWKS_REFRESH="${text}" is not a positive Go duration such as 30s or 1m30s`,
    );
  }
  return seconds;
}

const unitSeconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** `1m30s`, `500ms`, `2h` → seconds; undefined for anything else. Go's syntax, as Temporal reads it. */
export function parseGoDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unitSeconds[p[2] as string] as number), 0);
}
