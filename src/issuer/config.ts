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
}

export async function loadIssuerConfig(path: string): Promise<IssuerConfig> {
  let raw: Partial<IssuerConfig>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Partial<IssuerConfig>;
  } catch (cause) {
    throw new IssuerConfigError(`cannot read issuer config ${path}`, { cause });
  }
  const base = dirname(path);
  const host = raw.host ?? '127.0.0.1';
  const port = raw.port ?? 0;
  const config: IssuerConfig = {
    host,
    port,
    issuer: raw.issuer ?? `http://${host}:${port}`,
    audience: raw.audience ?? '',
    defaultTokenLifetimeSeconds: raw.defaultTokenLifetimeSeconds ?? 600,
    applicationsPath: resolve(base, raw.applicationsPath ?? 'applications.json'),
    signingKeysPath: resolve(base, raw.signingKeysPath ?? 'signing-keys.json'),
    signingAlgorithm: raw.signingAlgorithm ?? 'ES256',
  };
  if (!config.audience) throw new IssuerConfigError(`${path}: "audience" is required`);
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new IssuerConfigError(`${path}: "port" must be an integer 0-65535`);
  }
  if (!(Number.isInteger(config.defaultTokenLifetimeSeconds) && config.defaultTokenLifetimeSeconds > 0)) {
    throw new IssuerConfigError(`${path}: "defaultTokenLifetimeSeconds" must be a positive integer`);
  }
  if (!signingAlgorithms.includes(config.signingAlgorithm)) {
    throw new IssuerConfigError(`${path}: "signingAlgorithm" must be one of ${signingAlgorithms.join(', ')}`);
  }
  return config;
}
