import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkOperatorText, osActor } from './admin-actor.js';
import { parseApplicationsFile } from './applications.js';
import type { AuditSink } from './audit-log.js';
import type { IssuerConfig } from './config.js';
import { IssuerStateError } from './errors.js';
import { type FileLockOptions, withFileLock } from './file-lock.js';
import { type SigningKeyState, signingKeySchedule } from './signing-key-schedule.js';
import {
  createStoredSigningKey,
  parseSigningKeysFile,
  readOrCreateSigningKeysFile,
  type SigningAlgorithm,
  type StoredSigningKey,
  scheduledKey,
  signingAlgorithms,
  writeSigningKeysFile,
} from './signing-keys.js';
import { maxTokenLifetimeSeconds } from './token-lifetimes.js';

/** The parts of the issuer config that decide the rotation schedule. */
export type SigningKeyAdminOptions = Pick<
  IssuerConfig,
  | 'signingKeysPath'
  | 'applicationsPath'
  | 'defaultTokenLifetimeSeconds'
  | 'signingKeyPublishAheadSeconds'
  | 'signingAlgorithm'
> &
  Partial<Pick<IssuerConfig, 'maxTokenLifetimeSeconds'>> & {
    /** Receives `signing_key_rotated`. */
    audit?: AuditSink;
    /** Who rotates, for the audit log. Default the OS account running this process. */
    actor?: string;
    lock?: FileLockOptions;
    now?: () => number;
  };

/** One signing key as `keys list` shows it. Times are ISO 8601. */
export interface SigningKeyInfo {
  kid: string;
  alg: SigningAlgorithm;
  state: SigningKeyState;
  createdAt: string;
  /** When it starts (or started) signing. */
  activatesAt: string;
  /** When it stops (or stopped) signing: its successor's activation. */
  signsUntil?: string;
  /** When it leaves the JWKS: `signsUntil` + the longest token lifetime. */
  publishedUntil?: string;
}

/**
 * Every signing key with its state now (pending, active, retiring, retired), in activation order;
 * empty before the issuer first started.
 */
export async function listSigningKeys(options: SigningKeyAdminOptions): Promise<SigningKeyInfo[]> {
  const text = await readFile(options.signingKeysPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new IssuerStateError('issuer.state_unreadable', `cannot read ${options.signingKeysPath}`, {
      cause: err,
    });
  });
  if (text === undefined) return [];
  return describe(parseSigningKeysFile(text, options.signingKeysPath).keys, options, await lifetime(options));
}

/**
 * Creates a signing key that is published at once and starts signing after
 * `signingKeyPublishAheadSeconds` (so every verifier has fetched it first); the current key then
 * retires and stays published until its last tokens expired. Keys already retired are pruned.
 *
 * @example
 * const { created } = await rotateSigningKey(config); // config from loadIssuerConfig()
 * console.log(`${created.kid} signs from ${created.activatesAt}`);
 */
export async function rotateSigningKey(
  options: SigningKeyAdminOptions,
  details: { alg?: SigningAlgorithm; reason?: string } = {},
): Promise<{ created: SigningKeyInfo; keys: SigningKeyInfo[]; pruned: string[] }> {
  const alg = details.alg ?? options.signingAlgorithm;
  if (!signingAlgorithms.includes(alg)) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      `alg must be one of ${signingAlgorithms.join(', ')}`,
    );
  }
  const reason = checkOperatorText(details.reason, 'reason');
  const now = (options.now ?? Date.now)();
  const maxLifetime = await lifetime(options);
  await mkdir(dirname(options.signingKeysPath), { recursive: true, mode: 0o700 });
  const result = await withFileLock(
    options.signingKeysPath,
    async () => {
      const file = await readOrCreateSigningKeysFile(options.signingKeysPath, options.signingAlgorithm);
      const before = describe(file.keys, options, maxLifetime);
      const retired = new Set(before.filter((k) => k.state === 'retired').map((k) => k.kid));
      const previous = before.findLast((k) => k.state === 'active' || k.state === 'pending');
      const key = await createStoredSigningKey(
        alg,
        new Date(now + options.signingKeyPublishAheadSeconds * 1000),
      );
      const keys = [...file.keys.filter((k) => !retired.has(k.kid)), key];
      await writeSigningKeysFile(options.signingKeysPath, { keys });
      return { key, keys, pruned: [...retired], previousKid: previous?.kid };
    },
    options.lock,
  );
  const keys = describe(result.keys, options, maxLifetime);
  const created = keys.find((k) => k.kid === result.key.kid) as SigningKeyInfo;
  await options.audit?.({
    event: 'signing_key_rotated',
    kid: created.kid,
    alg: created.alg,
    activatesAt: created.activatesAt,
    ...(result.previousKid ? { previousKid: result.previousKid } : {}),
    actor: checkOperatorText(options.actor, 'actor') ?? osActor(),
    ...(reason ? { reason } : {}),
  });
  return { created, keys, pruned: result.pruned };
}

function describe(
  stored: StoredSigningKey[],
  options: SigningKeyAdminOptions,
  maxLifetime: number,
): SigningKeyInfo[] {
  const byKid = new Map(stored.map((k) => [k.kid, k]));
  const iso = (ms: number | undefined) => (ms === undefined ? {} : new Date(ms).toISOString());
  return signingKeySchedule(stored.map(scheduledKey), (options.now ?? Date.now)(), maxLifetime).map((k) => {
    const signsUntil = iso(k.signsUntilMs);
    const publishedUntil = iso(k.publishedUntilMs);
    return {
      kid: k.kid,
      alg: (byKid.get(k.kid) as StoredSigningKey).alg,
      state: k.state,
      createdAt: new Date(k.createdAtMs).toISOString(),
      activatesAt: new Date(k.activatesAtMs).toISOString(),
      ...(typeof signsUntil === 'string' ? { signsUntil } : {}),
      ...(typeof publishedUntil === 'string' ? { publishedUntil } : {}),
    };
  });
}

async function lifetime(options: SigningKeyAdminOptions): Promise<number> {
  const text = await readFile(options.applicationsPath, 'utf8').catch(() => undefined);
  const apps = text === undefined ? [] : parseApplicationsFile(text, options.applicationsPath).applications;
  return maxTokenLifetimeSeconds(apps, options.defaultTokenLifetimeSeconds, options.maxTokenLifetimeSeconds);
}
