import { readFile } from 'node:fs/promises';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { writeJsonFileAtomic } from '../json-file.js';
import { IssuerConfigError } from './errors.js';
import { type ScheduledKey, signingKeySchedule } from './signing-key-schedule.js';

export type SigningAlgorithm = 'ES256' | 'RS256';
export const signingAlgorithms: readonly SigningAlgorithm[] = ['ES256', 'RS256'];

export interface StoredSigningKey {
  /** RFC 7638 thumbprint of the public key; Temporal looks keys up by it. */
  kid: string;
  alg: SigningAlgorithm;
  createdAt: string;
  /**
   * When the key may start signing; until then it is only published. Absent means `createdAt` (the
   * first key of a fresh issuer, which no verifier has cached anything for yet).
   */
  activatesAt?: string;
  privateJwk: JWK;
}

export interface SigningKeysFile {
  keys: StoredSigningKey[];
}

/** A signing key ready to use, with its public half for the JWKS. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * Loads the issuer's signing keys from `path` (mode 0600), creating one of `alg` when the file does
 * not exist yet. Returns the keys published now, the one that signs now last. A running issuer uses
 * {@link SigningKeyRing} instead, which follows rotations.
 */
export async function loadOrCreateSigningKeys(
  path: string,
  alg: SigningAlgorithm = 'ES256',
  maxTokenLifetimeSeconds = 86_400,
): Promise<SigningKey[]> {
  const file = await readOrCreateSigningKeysFile(path, alg);
  const schedule = signingKeySchedule(file.keys.map(scheduledKey), Date.now(), maxTokenLifetimeSeconds);
  const published = schedule.filter((k) => k.state === 'pending' || k.state === 'retiring');
  const active = schedule.filter((k) => k.state === 'active');
  const byKid = new Map(file.keys.map((k) => [k.kid, k]));
  return Promise.all(
    [...published, ...active].map((k) => toSigningKey(byKid.get(k.kid) as StoredSigningKey)),
  );
}

/** The signing keys file at `path`, created with one key of `alg` when it does not exist yet. */
export async function readOrCreateSigningKeysFile(
  path: string,
  alg: SigningAlgorithm = 'ES256',
): Promise<SigningKeysFile> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new IssuerConfigError(`cannot read signing keys ${path}`, { cause: err });
  });
  if (text !== undefined) return parseSigningKeysFile(text, path);
  const file = { keys: [await createStoredSigningKey(alg)] };
  await writeSigningKeysFile(path, file);
  return file;
}

export function parseSigningKeysFile(text: string, path: string): SigningKeysFile {
  let file: SigningKeysFile;
  try {
    file = JSON.parse(text) as SigningKeysFile;
  } catch (cause) {
    throw new IssuerConfigError(`${path} is not valid JSON; ${restoreAdvice}`, { cause });
  }
  if (!Array.isArray(file?.keys) || file.keys.length === 0) {
    throw new IssuerConfigError(`${path} holds no signing key; ${restoreAdvice}`);
  }
  for (const key of file.keys) {
    if (
      typeof key?.kid !== 'string' ||
      !signingAlgorithms.includes(key.alg) ||
      typeof key.privateJwk !== 'object' ||
      key.privateJwk === null
    ) {
      throw new IssuerConfigError(
        `${path}: every key needs kid, alg (ES256 or RS256) and privateJwk; ${restoreAdvice}`,
      );
    }
    for (const field of ['createdAt', 'activatesAt'] as const) {
      const value = key[field];
      if ((field === 'createdAt' || value !== undefined) && Number.isNaN(Date.parse(value ?? ''))) {
        throw new IssuerConfigError(`${path}: key ${key.kid} has an invalid ${field}; ${restoreAdvice}`);
      }
    }
  }
  return file;
}

/**
 * Deleting the file would make the issuer create a new key at the next start: every token in flight,
 * and every verifier's cached JWKS, would then stop matching. Restoring keeps them valid.
 */
const restoreAdvice =
  'restore it from your backup (the running issuer keeps serving the keys it last read); ' +
  'deleting it makes a new key and every issued token unverifiable';

export async function createStoredSigningKey(
  alg: SigningAlgorithm,
  activatesAt?: Date,
): Promise<StoredSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  return {
    kid,
    alg,
    createdAt: new Date().toISOString(),
    ...(activatesAt ? { activatesAt: activatesAt.toISOString() } : {}),
    privateJwk: await exportJWK(privateKey),
  };
}

/** Writes atomically with mode 0600: the file holds private keys. */
export async function writeSigningKeysFile(path: string, file: SigningKeysFile): Promise<void> {
  await writeJsonFileAtomic(path, file);
}

/** The times the rotation schedule works on. */
export function scheduledKey(stored: StoredSigningKey): ScheduledKey {
  return {
    kid: stored.kid,
    createdAtMs: Date.parse(stored.createdAt),
    activatesAtMs: Date.parse(stored.activatesAt ?? stored.createdAt),
  };
}

export async function toSigningKey(stored: StoredSigningKey): Promise<SigningKey> {
  if (!signingAlgorithms.includes(stored.alg)) {
    throw new IssuerConfigError(`signing key ${stored.kid}: unsupported alg ${String(stored.alg)}`);
  }
  const privateKey = (await importJWK(stored.privateJwk, stored.alg)) as CryptoKey;
  return {
    kid: stored.kid,
    alg: stored.alg,
    privateKey,
    publicJwk: { ...publicJwkMembers(stored), kid: stored.kid, alg: stored.alg, use: 'sig' },
  };
}

/**
 * The public members of each key type (RFC 7518 §6.2.1, §6.3.1), copied by name: anything else in a
 * stored key — a private member of a type this code does not know (`k`, `oth`), a typo, a note — is
 * never published. Built from an allow-list rather than by deleting known private members.
 */
const publicMembers: Record<SigningAlgorithm, { kty: string; members: readonly string[] }> = {
  ES256: { kty: 'EC', members: ['crv', 'x', 'y'] },
  RS256: { kty: 'RSA', members: ['n', 'e'] },
};

export function publicJwkMembers(stored: Pick<StoredSigningKey, 'kid' | 'alg' | 'privateJwk'>): JWK {
  const { kty, members } = publicMembers[stored.alg];
  const jwk = stored.privateJwk as Record<string, unknown>;
  if (jwk.kty !== kty) {
    throw new IssuerConfigError(`signing key ${stored.kid}: alg ${stored.alg} needs a key of type ${kty}`);
  }
  const out: Record<string, string> = { kty };
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value === '') {
      throw new IssuerConfigError(`signing key ${stored.kid}: public member "${name}" is missing`);
    }
    out[name] = value;
  }
  if (stored.alg === 'ES256' && out.crv !== 'P-256') {
    throw new IssuerConfigError(`signing key ${stored.kid}: ES256 needs curve P-256`);
  }
  return out as JWK;
}
