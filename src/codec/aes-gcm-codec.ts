import { webcrypto } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { CodecError } from './errors.js';
import { bytesToPayload, payloadToBytes } from './payload-bytes.js';

/** `metadata.encoding` of a payload this codec encrypted; anything else passes through `decode`. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata entry naming the key that encrypted the payload, so decoding picks the right one. */
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
/** 96-bit IVs are what GCM is specified for; random ones are safe for far more payloads than a key sees. */
const IV_LENGTH = 12;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface AesGcmPayloadCodecOptions {
  /**
   * Every key that may decrypt, by key id: 32 raw bytes or their base64. Keep retired keys here as long
   * as histories encrypted with them must stay readable.
   */
  keys: Readonly<Record<string, Uint8Array | string>>;
  /** The id of the key that encrypts new payloads; must be one of `keys`. */
  encryptionKeyId: string;
}

/**
 * A Temporal PayloadCodec that encrypts every payload with AES-256-GCM. One key encrypts; any number
 * decrypt, chosen by the key id stored in each payload's metadata, so keys rotate without making old
 * histories unreadable. The key id is authenticated too: relabelling a payload makes it fail to decode.
 *
 * @example
 * ```ts
 * const codec = await AesGcmPayloadCodec.create({
 *   keys: { '2026-11': process.env.CODEC_KEY_NEW!, '2026-05': process.env.CODEC_KEY_OLD! },
 *   encryptionKeyId: '2026-11',
 * });
 * const worker = await Worker.create({ ...options, dataConverter: { payloadCodecs: [codec] } });
 * const client = new Client({ connection, dataConverter: { payloadCodecs: [codec] } });
 * ```
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  readonly #keys: ReadonlyMap<string, webcrypto.CryptoKey>;
  readonly #encryptionKeyId: string;

  private constructor(keys: ReadonlyMap<string, webcrypto.CryptoKey>, encryptionKeyId: string) {
    this.#keys = keys;
    this.#encryptionKeyId = encryptionKeyId;
  }

  /** Validates the keys and imports them as non-extractable WebCrypto keys (hence async). */
  static async create(options: AesGcmPayloadCodecOptions): Promise<AesGcmPayloadCodec> {
    if (!options || typeof options.keys !== 'object' || options.keys === null) {
      throw new TypeError('AesGcmPayloadCodec: options.keys must map key ids to 32-byte keys');
    }
    const entries = Object.entries(options.keys);
    if (entries.length === 0) throw new TypeError('AesGcmPayloadCodec: options.keys is empty');
    if (!Object.hasOwn(options.keys, options.encryptionKeyId)) {
      throw new TypeError('AesGcmPayloadCodec: options.encryptionKeyId must name one of options.keys');
    }
    const keys = new Map<string, webcrypto.CryptoKey>();
    for (const [id, material] of entries) {
      if (!KEY_ID_PATTERN.test(id)) {
        throw new TypeError(
          `AesGcmPayloadCodec: key id ${JSON.stringify(id)} in options.keys must be 1-64 of A-Z a-z 0-9 . _ -`,
        );
      }
      const raw = typeof material === 'string' ? Buffer.from(material, 'base64') : material;
      if (!(raw instanceof Uint8Array) || raw.length !== 32) {
        // The length alone is safe to report; the material is not.
        throw new TypeError(`AesGcmPayloadCodec: options.keys[${JSON.stringify(id)}] must be 32 bytes`);
      }
      keys.set(id, await webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
    }
    return new AesGcmPayloadCodec(keys, options.encryptionKeyId);
  }

  /** The id of the key new payloads are encrypted with. */
  get encryptionKeyId(): string {
    return this.#encryptionKeyId;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.#encryptionKeyId;
    const key = this.#keys.get(keyId)!;
    return Promise.all(
      payloads.map(async (payload) => {
        const iv = webcrypto.getRandomValues(new Uint8Array(IV_LENGTH));
        const sealed = await webcrypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData: associatedData(keyId) },
          key,
          payloadToBytes(payload),
        );
        const data = new Uint8Array(IV_LENGTH + sealed.byteLength);
        data.set(iv);
        data.set(new Uint8Array(sealed), IV_LENGTH);
        return {
          metadata: {
            encoding: encoder.encode(ENCRYPTED_ENCODING),
            [KEY_ID_METADATA]: encoder.encode(keyId),
            [CIPHER_METADATA]: encoder.encode(CIPHER),
          },
          data,
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((payload) => this.#decodeOne(payload)));
  }

  async #decodeOne(payload: Payload): Promise<Payload> {
    const encoding = payload.metadata?.encoding;
    // Payloads written before encryption was switched on stay readable.
    if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    const keyId = idBytes ? decoder.decode(idBytes) : '';
    const shownId = describeKeyId(keyId);
    const key = this.#keys.get(keyId);
    if (!key) {
      throw new CodecError(
        'codec.unknown_key',
        `payload was encrypted with key id ${shownId}, which this codec was not given`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_LENGTH + 16) {
      throw new CodecError('codec.malformed_payload', `encrypted payload (key id ${shownId}) is truncated`);
    }
    let plain: ArrayBuffer;
    try {
      plain = await webcrypto.subtle.decrypt(
        { name: 'AES-GCM', iv: data.subarray(0, IV_LENGTH), additionalData: associatedData(keyId) },
        key,
        data.subarray(IV_LENGTH),
      );
    } catch (cause) {
      throw new CodecError(
        'codec.decrypt_failed',
        `payload encrypted with key id ${shownId} failed authentication: wrong key or tampered data`,
        { cause },
      );
    }
    return bytesToPayload(new Uint8Array(plain));
  }
}

// Binding the key id into the tag means a payload cannot be relabelled to another key's id.
/**
 * The key id as error messages show it: it comes from the payload, which anyone able to write history
 * chose, so at most 64 characters of it.
 */
function describeKeyId(keyId: string): string {
  return keyId.length > 64
    ? `${JSON.stringify(keyId.slice(0, 64))}… (${keyId.length} characters)`
    : JSON.stringify(keyId);
}

function associatedData(keyId: string): Uint8Array {
  return encoder.encode(`tokenrelay/${CIPHER}/v1:${keyId}`);
}
