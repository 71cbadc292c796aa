import { describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec } from '../../../src/codec/aes-gcm-codec.js';
import {
  CODEC_KEYS_ENV,
  codecFromEnv,
  generateCodecKey,
  parseCodecKeys,
} from '../../../src/codec/codec-keys.js';

const k1 = generateCodecKey();
const k2 = generateCodecKey();

describe('parseCodecKeys', () => {
  it('makes the first key the encryption key and keeps the rest for decoding', () => {
    expect(parseCodecKeys(` new:${k1} , old:${k2} `)).toEqual({
      keys: { new: k1, old: k2 },
      encryptionKeyId: 'new',
    });
  });

  it('accepts URL-safe base64 too, handing it on as standard base64', () => {
    const url = Buffer.from(k1, 'base64').toString('base64url');
    expect(parseCodecKeys(`a:${url}`).keys.a).toBe(k1);
  });

  it.each([
    ['an entry without a key id', `:${k1}`, /keyId:base64key/],
    ['a repeated key id', `a:${k1},a:${k2}`, /appears twice/],
    ['nothing', ' , ', /no key given/],
    ['a short key', 'a:AAAA', /must be 32 bytes, got 3/],
    ['a key id with a space', `my key:${k1}`, /must be 1-64 of/],
  ])('rejects %s', (_, spec, message) => {
    expect(() => parseCodecKeys(spec)).toThrow(message);
  });
});

describe('F10 codec nits: codec key material and ids', () => {
  it('refuses an all-zero key and any key of one repeated byte', () => {
    expect(() => parseCodecKeys(`zero:${Buffer.alloc(32).toString('base64')}`)).toThrow(/repeats one byte/);
    expect(() => parseCodecKeys(`ff:${Buffer.alloc(32, 0xff).toString('base64')}`)).toThrow(
      /repeats one byte/,
    );
  });

  it('refuses base64 with junk characters instead of silently decoding the rest', () => {
    // Node's decoder skips "!" and "*": this would have become a different, valid-looking key.
    const junk = `${k1.slice(0, 20)}!!**${k1.slice(20)}`;
    expect(Buffer.from(junk, 'base64')).toHaveLength(32);
    expect(() => parseCodecKeys(`a:${junk}`)).toThrow(/not base64/);
    expect(() => parseCodecKeys(`a:${k1} trailing`)).toThrow(/not base64/);
  });

  it('echoes at most 64 characters of a key id in errors', () => {
    const long = 'k'.repeat(100_000);
    let message = '';
    try {
      parseCodecKeys(`${long}:${k1}`);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/100000 characters/);
    expect(message.length).toBeLessThan(300);
    try {
      parseCodecKeys(`${long}:AAAA,${long}:AAAA`);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.length).toBeLessThan(300);
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
