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
    throw new IssuerConfigError(`${path} is not valid JSON; delete it to start over with a new key`, {
      cause,
    });
  }
  if (!Array.isArray(file?.keys) || file.keys.length === 0) {
    throw new IssuerConfigError(`${path} holds no signing key; delete it to start over with a new key`);
  }
  for (const key of file.keys) {
    if (typeof key?.kid !== 'string' || !signingAlgorithms.includes(key.alg) || !key.privateJwk) {
      throw new IssuerConfigError(`${path}: every key needs kid, alg (ES256 or RS256) and privateJwk`);
    }
    for (const field of ['createdAt', 'activatesAt'] as const) {
      const value = key[field];
      if ((field === 'createdAt' || value !== undefined) && Number.isNaN(Date.parse(value ?? ''))) {
        throw new IssuerConfigError(`${path}: key ${key.kid} has an invalid ${field}`);
      }
    }
  }
  return file;
}

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
  const { d, p, q, dp, dq, qi, ...publicParts } = stored.privateJwk;
  return {
    kid: stored.kid,
    alg: stored.alg,
    privateKey,
    publicJwk: { ...publicParts, kid: stored.kid, alg: stored.alg, use: 'sig' },
  };
}
