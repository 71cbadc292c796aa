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

export type SigningAlgorithm = 'ES256' | 'RS256';
export const signingAlgorithms: readonly SigningAlgorithm[] = ['ES256', 'RS256'];

export interface StoredSigningKey {
  /** RFC 7638 thumbprint of the public key; Temporal looks keys up by it. */
  kid: string;
  alg: SigningAlgorithm;
  createdAt: string;
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
 * not exist yet. The newest key signs; all of them are published.
 */
export async function loadOrCreateSigningKeys(
  path: string,
  alg: SigningAlgorithm = 'ES256',
): Promise<SigningKey[]> {
  let file: SigningKeysFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as SigningKeysFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new IssuerConfigError(
        `cannot read signing keys ${path}; delete it to start over with a new key`,
        {
          cause: err,
        },
      );
    }
    file = { keys: [await createStoredSigningKey(alg)] };
    await writeSigningKeysFile(path, file);
  }
  if (!Array.isArray(file.keys) || file.keys.length === 0) {
    throw new IssuerConfigError(`${path} holds no signing key; delete it to start over with a new key`);
  }
  return Promise.all(file.keys.map(toSigningKey));
}

export async function createStoredSigningKey(alg: SigningAlgorithm): Promise<StoredSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  return { kid, alg, createdAt: new Date().toISOString(), privateJwk: await exportJWK(privateKey) };
}

export async function writeSigningKeysFile(path: string, file: SigningKeysFile): Promise<void> {
  await writeJsonFileAtomic(path, file);
}

async function toSigningKey(stored: StoredSigningKey): Promise<SigningKey> {
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
