import { randomBytes } from 'node:crypto';
import { AesGcmPayloadCodec, type AesGcmPayloadCodecOptions } from './aes-gcm-codec.js';

/** The variable a worker, client or CLI reads its codec keys from. */
export const CODEC_KEYS_ENV = 'TOKENRELAY_CODEC_KEYS';

const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * A key id as it may appear in an error: at most 64 characters, quoted, control characters escaped.
 * Ids can come from a payload an attacker wrote, and an error message is no place for 100 000 of them.
 */
export function describeKeyId(id: string): string {
  const shown = JSON.stringify(id.slice(0, 64));
  return id.length > 64 ? `${shown}… (${id.length} characters)` : shown;
}

/**
 * The 32 key bytes of `text`: standard or URL-safe base64 of exactly 32 bytes, nothing else. Node's
 * decoder skips characters it does not know, so `"aaaa!!!!…"` would otherwise become some other key
 * silently. A key whose bytes are all the same (all zero from a blank secret store, an `=` padded
 * placeholder) is refused: it is no secret at all.
 */
export function decodeCodecKey(text: string, id: string): Buffer {
  const standard = BASE64_PATTERN.test(text);
  if (!standard && !BASE64URL_PATTERN.test(text)) {
    throw new TypeError(
      `${CODEC_KEYS_ENV}: the key of id ${describeKeyId(id)} is not base64 (only A-Z a-z 0-9 + / = or URL-safe - _)`,
    );
  }
  const bytes = Buffer.from(text, standard ? 'base64' : 'base64url');
  if (bytes.length !== 32) {
    throw new TypeError(
      `${CODEC_KEYS_ENV}: the key of id ${describeKeyId(id)} must be 32 bytes, got ${bytes.length}`,
    );
  }
  if (bytes.every((b) => b === bytes[0])) {
    throw new TypeError(
      `${CODEC_KEYS_ENV}: the key of id ${describeKeyId(id)} repeats one byte (all zero?): generate one with \`openssl rand -base64 32\``,
    );
  }
  return bytes;
}

/**
 * Parses `id:base64key,id:base64key,…`; the first key encrypts, every key decrypts. One string keeps
 * "which key is new" and "which keys are still readable" in a single place that rotates atomically.
 * Ids and keys are checked here, so a typo fails at start with a message that names the entry and
 * never echoes key material or more than 64 characters of an id.
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
    if (!KEY_ID_PATTERN.test(id)) {
      throw new TypeError(`${CODEC_KEYS_ENV}: key id ${describeKeyId(id)} must be 1-64 of A-Z a-z 0-9 . _ -`);
    }
    if (Object.hasOwn(keys, id))
      throw new TypeError(`${CODEC_KEYS_ENV}: key id ${describeKeyId(id)} appears twice`);
    const material = item.slice(colon + 1).trim();
    // Handed on in standard base64, which is what AesGcmPayloadCodec decodes.
    keys[id] = decodeCodecKey(material, id).toString('base64');
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
