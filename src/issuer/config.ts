import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { IssuerConfigError } from './errors.js';
import { type SigningAlgorithm, signingAlgorithms } from './signing-keys.js';

/** The issuer's settings file (JSON). Relative paths are resolved against the file's own folder. */
export interface IssuerConfig {
  /** `iss` claim. Default: `http://<host>:<port>`. */
  issuer: string;
  /** `aud` claim; the Temporal server must be configured with the same audience. */
  audience: string;
  /** Interface to listen on. Default 127.0.0.1. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Default 600. */
  defaultTokenLifetimeSeconds: number;
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

export interface RateLimitConfig {
  /** Failed attempts per key id answered normally within the window; further requests get 429. Default 10. */
  maxFailures: number;
  /**
   * Failed attempts per client IP. Higher than per key by default (5×): a whole worker fleet may sit
   * behind one NAT address, and one guessing client must not lock all of it out.
   */
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
  const config: IssuerConfig = {
    host,
    port,
    issuer: raw.issuer ?? `http://${host}:${port}`,
    audience: raw.audience ?? '',
    defaultTokenLifetimeSeconds: raw.defaultTokenLifetimeSeconds ?? 600,
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
    !Number.isInteger(config.rateLimit.maxFailures)
  ) {
    throw new IssuerConfigError(
      `${path}: "defaultTokenLifetimeSeconds" and "rateLimit.maxFailures" must be integers`,
    );
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
