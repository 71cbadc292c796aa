import { describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec } from '../../../src/codec/aes-gcm-codec.js';
import {
  CODEC_KEYS_ENV,
  codecFromEnv,
  generateCodecKey,
  parseCodecKeys,
} from '../../../src/codec/codec-keys.js';

describe('parseCodecKeys', () => {
  it('makes the first key the encryption key and keeps the rest for decoding', () => {
    expect(parseCodecKeys(' new:AAAA , old:BBBB ')).toEqual({
      keys: { new: 'AAAA', old: 'BBBB' },
      encryptionKeyId: 'new',
    });
  });

  it.each([
    ['an entry without a key id', ':AAAA', /keyId:base64key/],
    ['a repeated key id', 'a:AAAA,a:BBBB', /appears twice/],
    ['nothing', ' , ', /no key given/],
  ])('rejects %s', (_, spec, message) => {
    expect(() => parseCodecKeys(spec)).toThrow(message);
  });
});

describe('codecFromEnv', () => {
  it('is undefined when TOKENRELAY_CODEC_KEYS is unset, so encryption is opt-in', async () => {
    await expect(codecFromEnv({})).resolves.toBeUndefined();
  });

  it('builds a codec that encrypts with the first key', async () => {
    const codec = await codecFromEnv({
      [CODEC_KEYS_ENV]: `k2:${generateCodecKey()},k1:${generateCodecKey()}`,
    });
    expect(codec).toBeInstanceOf(AesGcmPayloadCodec);
    expect(codec?.encryptionKeyId).toBe('k2');
  });
});

describe('generateCodecKey', () => {
  it('returns 32 random bytes as base64', () => {
    expect(Buffer.from(generateCodecKey(), 'base64')).toHaveLength(32);
    expect(generateCodecKey()).not.toBe(generateCodecKey());
  });
});
