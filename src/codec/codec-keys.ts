import { randomBytes } from 'node:crypto';
import { AesGcmPayloadCodec, type AesGcmPayloadCodecOptions } from './aes-gcm-codec.js';

/** The variable a worker, client or CLI reads its codec keys from. */
export const CODEC_KEYS_ENV = 'TOKENRELAY_CODEC_KEYS';

/**
 * Parses `id:base64key,id:base64key,…`; the first key encrypts, every key decrypts. One string keeps
 * "which key is new" and "which keys are still readable" in a single place that rotates atomically.
 */
export function parseCodecKeys(spec: string): AesGcmPayloadCodecOptions {
  const keys: Record<string, string> = {};
  let encryptionKeyId: string | undefined;
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) {
      throw new TypeError(
        `${CODEC_KEYS_ENV}: each entry must be "keyId:base64key" (entry ${Object.keys(keys).length + 1})`,
      );
    }
    const id = item.slice(0, colon);
    if (Object.hasOwn(keys, id)) throw new TypeError(`${CODEC_KEYS_ENV}: key id ${id} appears twice`);
    keys[id] = item.slice(colon + 1);
    encryptionKeyId ??= id;
  }
  if (encryptionKeyId === undefined) throw new TypeError(`${CODEC_KEYS_ENV}: no key given`);
  return { keys, encryptionKeyId };
}

/**
 * The codec configured by `TOKENRELAY_CODEC_KEYS`, or undefined when it is unset, so callers can write
 * `payloadCodecs: codec ? [codec] : []`.
 */
export async function codecFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<AesGcmPayloadCodec | undefined> {
  const spec = env[CODEC_KEYS_ENV];
  if (spec === undefined || spec.trim() === '') return undefined;
  return AesGcmPayloadCodec.create(parseCodecKeys(spec));
}

/** A fresh random 256-bit key as base64, for `keyId:key` in `TOKENRELAY_CODEC_KEYS` or dev config. */
export function generateCodecKey(): string {
  return randomBytes(32).toString('base64');
}
