import type { Command } from 'commander';
import { AesGcmPayloadCodec } from '../codec/aes-gcm-codec.js';
import { CODEC_KEYS_ENV, parseCodecKeys } from '../codec/codec-keys.js';
import { type CodecServerOptions, startCodecServer } from '../codec/codec-server.js';
import { type DevConfig, readDevConfig } from '../devstack/dev-config.js';
import { CliError } from './errors.js';
import { serveInForeground } from './foreground.js';

export interface CodecServerFlags {
  port: string;
  host: string;
  namespace?: string;
  corsOrigin?: string[];
  issuer?: string;
  jwksUrl?: string;
  audience?: string;
  strictTokenRead?: boolean;
  maxBodyBytes: string;
  requestTimeoutMs: string;
}

/** Where each setting may come from, first found wins; dev.json is read only when something is missing. */
export const CODEC_SERVER_ENV = {
  issuer: 'TOKENRELAY_JWT_ISSUER',
  jwksUrl: 'TOKENRELAY_JWKS_URL',
  audience: 'TOKENRELAY_JWT_AUDIENCE',
  codecKeys: CODEC_KEYS_ENV,
} as const;

export interface CodecServerSettings {
  host: string;
  port: number;
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** `TOKENRELAY_CODEC_KEYS` format; never printed. */
  codecKeys: string;
  defaultNamespace: string;
  corsOrigins: string[];
  strictTokenRead: boolean;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Which settings came from dev.json, for the startup line. */
  fromDevConfig: string[];
}

/**
 * Flags over environment over the dev stack's dev.json, per setting: `codec-server` with no flags
 * serves the dev stack, and with `--issuer`/`--audience` plus `TOKENRELAY_CODEC_KEYS` any other.
 */
export async function resolveCodecServerSettings(
  flags: CodecServerFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
  devConfig: () => Promise<DevConfig> = () => readDevConfig(),
): Promise<CodecServerSettings> {
  const fromDevConfig: string[] = [];
  let dev: DevConfig | undefined;
  const fromDev = async <T>(name: string, pick: (c: DevConfig) => T): Promise<T> => {
    try {
      dev ??= await devConfig();
    } catch {
      const how = name === 'codec-keys' ? `set ${CODEC_KEYS_ENV}` : `pass --${name} (or ${envFor(name)})`;
      throw new CliError(
        'cli.invalid_argument',
        `no ${name} given and no dev stack found: ${how}, or run \`tokenrelay dev up\``,
      );
    }
    fromDevConfig.push(name);
    return pick(dev);
  };
  const given = (value: string | undefined) =>
    value === undefined || value.trim() === '' ? undefined : value;

  const issuer = given(flags.issuer) ?? given(env[CODEC_SERVER_ENV.issuer]);
  const explicitJwks = given(flags.jwksUrl) ?? given(env[CODEC_SERVER_ENV.jwksUrl]);
  const settings: CodecServerSettings = {
    host: flags.host,
    port: integer(flags.port, '--port', 0, 65_535),
    issuer: issuer ?? (await fromDev('issuer', (c) => c.issuer.url)),
    // An issuer given by hand publishes its keys where tokenrelay's issuer does, unless told otherwise.
    jwksUrl:
      explicitJwks ??
      (issuer
        ? `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`
        : await fromDev('jwks-url', (c) => c.issuer.jwksUrl)),
    audience:
      given(flags.audience) ??
      given(env[CODEC_SERVER_ENV.audience]) ??
      (await fromDev('audience', (c) => c.issuer.audience)),
    codecKeys: given(env[CODEC_SERVER_ENV.codecKeys]) ?? (await fromDev('codec-keys', (c) => c.codec.keys)),
    defaultNamespace: given(flags.namespace) ?? dev?.temporal.namespace ?? 'default',
    corsOrigins: flags.corsOrigin ?? [],
    strictTokenRead: flags.strictTokenRead ?? false,
    maxBodyBytes: integer(flags.maxBodyBytes, '--max-body-bytes', 1, 64 * 1024 * 1024),
    requestTimeoutMs: integer(flags.requestTimeoutMs, '--request-timeout-ms', 100, 600_000),
    fromDevConfig,
  };
  for (const [name, value] of [
    ['issuer', settings.issuer],
    ['jwks-url', settings.jwksUrl],
  ] as const) {
    if (!/^https?:\/\/[^\s]+$/.test(value)) {
      throw new CliError('cli.invalid_argument', `--${name} must be an http(s) URL`);
    }
  }
  return settings;
}

/** The server's options from resolved settings: imports the codec keys (validated, never printed). */
export async function codecServerOptions(settings: CodecServerSettings): Promise<CodecServerOptions> {
  let codec: AesGcmPayloadCodec;
  try {
    codec = await AesGcmPayloadCodec.create(parseCodecKeys(settings.codecKeys));
  } catch (cause) {
    // parseCodecKeys and create name entries and key ids, never key material.
    throw new CliError('cli.invalid_argument', `codec keys: ${(cause as Error).message}`, { cause });
  }
  return {
    codec,
    jwks: new URL(settings.jwksUrl),
    issuer: settings.issuer,
    audience: settings.audience,
    defaultNamespace: settings.defaultNamespace,
    corsOrigins: settings.corsOrigins,
    strictTokenRead: settings.strictTokenRead,
    maxBodyBytes: settings.maxBodyBytes,
    requestTimeoutMs: settings.requestTimeoutMs,
    log: (event) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`),
  };
}

/** `codec-server`: a remote codec for `temporal --codec-endpoint` and the Web UI, behind Temporal's JWTs. */
export function registerCodecServerCommand(program: Command): void {
  program
    .command('codec-server')
    .description(
      'serve /encode and /decode for `temporal … --codec-endpoint` and the Web UI: callers authenticate ' +
        'with Temporal JWTs (Authorization: Bearer); payloads that may hold an API token are decrypted ' +
        'only for token.read holders. Settings: flags, then environment, then the dev stack (dev.json); ' +
        `keys from ${CODEC_KEYS_ENV} or dev.json`,
    )
    .option('--port <port>', 'port to listen on (0: any free port)', '8081')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '-n, --namespace <name>',
      'namespace of requests without X-Namespace (default: dev.json or default)',
    )
    .option(
      '--cors-origin <origin>',
      'browser origin allowed to call, e.g. the Web UI http://localhost:8233 (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--issuer <url>', `required iss (default: ${CODEC_SERVER_ENV.issuer} or dev.json)`)
    .option(
      '--jwks-url <url>',
      `issuer JWKS (default: ${CODEC_SERVER_ENV.jwksUrl}, <issuer>/.well-known/jwks.json, or dev.json)`,
    )
    .option('--audience <aud>', `required aud (default: ${CODEC_SERVER_ENV.audience} or dev.json)`)
    .option(
      '--strict-token-read',
      'count only token.read grants for every workflow type (<ns>:token.read), not type-restricted ones',
    )
    .option('--max-body-bytes <n>', 'largest request body accepted', String(4 * 1024 * 1024))
    .option('--request-timeout-ms <ms>', 'time a request may take to arrive', '10000')
    .action((flags: CodecServerFlags) =>
      serveInForeground('codec_server_listening', async () => {
        const settings = await resolveCodecServerSettings(flags);
        const options = await codecServerOptions(settings);
        const running = await startCodecServer({ ...options, host: settings.host, port: settings.port });
        // Key ids, not keys: enough to tell which keys this server can read.
        options.log?.({
          event: 'codec_server_config',
          issuer: settings.issuer,
          jwksUrl: settings.jwksUrl,
          audience: settings.audience,
          defaultNamespace: settings.defaultNamespace,
          corsOrigins: settings.corsOrigins,
          strictTokenRead: settings.strictTokenRead,
          keyIds: Object.keys(parseCodecKeys(settings.codecKeys).keys),
          fromDevConfig: settings.fromDevConfig,
        });
        return running;
      }),
    );
}

function integer(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError('cli.invalid_argument', `${name} must be an integer ${min}-${max}`);
  }
  return n;
}

function envFor(name: string): string {
  if (name === 'issuer') return CODEC_SERVER_ENV.issuer;
  if (name === 'jwks-url') return CODEC_SERVER_ENV.jwksUrl;
  return CODEC_SERVER_ENV.audience;
}
