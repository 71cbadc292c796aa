import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../../src/codec/aes-gcm-codec.js';
import { CodecError } from '../../../src/codec/errors.js';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const secret = 'eyJhbGciOiJFUzI1NiJ9.the-api-token';
const plain = (): Payload => defaultPayloadConverter.toPayload({ apiToken: { token: secret, version: 3 } })!;
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe('AesGcmPayloadCodec', () => {
  it('round-trips a payload, metadata included', async () => {
    const codec = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    const [encoded] = await codec.encode([plain()]);
    const [decoded] = await codec.decode([encoded!]);
    expect(decoded).toEqual(plain());
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({
      apiToken: { token: secret, version: 3 },
    });
  });

  it('leaves neither the token nor its base64 in the encoded payload, and names the key id', async () => {
    const codec = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    const [encoded] = await codec.encode([plain()]);
    const data = Buffer.from(encoded!.data!);
    expect(data.includes(Buffer.from(secret))).toBe(false);
    expect(data.includes(Buffer.from(Buffer.from(secret).toString('base64')))).toBe(false);
    expect(text(encoded!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded!.metadata![KEY_ID_METADATA])).toBe('k1');
  });

  it('uses a fresh IV per payload, so equal payloads encrypt differently', async () => {
    const codec = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('keeps old payloads readable after the encryption key rotated', async () => {
    const before = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    const after = await AesGcmPayloadCodec.create({
      keys: { k2: newKey, k1: oldKey.toString('base64') },
      encryptionKeyId: 'k2',
    });
    const [old] = await before.encode([plain()]);
    const [fresh] = await after.encode([plain()]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    await expect(after.decode([old!, fresh!])).resolves.toEqual([plain(), plain()]);
  });

  it('refuses a payload whose key it was not given, naming the key id', async () => {
    const writer = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    const reader = await AesGcmPayloadCodec.create({ keys: { k2: newKey }, encryptionKeyId: 'k2' });
    const [encoded] = await writer.encode([plain()]);
    await expect(reader.decode([encoded!])).rejects.toMatchObject({
      code: 'codec.unknown_key',
      message: expect.stringContaining('"k1"'),
    });
  });

  it('refuses a payload decrypted with the wrong key under the same id', async () => {
    const writer = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    const impostor = await AesGcmPayloadCodec.create({ keys: { k1: newKey }, encryptionKeyId: 'k1' });
    const [encoded] = await writer.encode([plain()]);
    await expect(impostor.decode([encoded!])).rejects.toMatchObject({ code: 'codec.decrypt_failed' });
  });

  it('refuses tampered data and a payload relabelled with another key id', async () => {
    const codec = await AesGcmPayloadCodec.create({
      keys: { k1: oldKey, k2: oldKey },
      encryptionKeyId: 'k1',
    });
    const [encoded] = await codec.encode([plain()]);
    const tampered = Uint8Array.from(encoded!.data!);
    tampered[tampered.length - 20]! ^= 1;
    await expect(codec.decode([{ ...encoded, data: tampered }])).rejects.toBeInstanceOf(CodecError);
    // Same key material under another id: only the authenticated key id tells them apart.
    const relabelled = {
      ...encoded,
      metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') },
    };
    await expect(codec.decode([relabelled])).rejects.toMatchObject({ code: 'codec.decrypt_failed' });
  });

  it('passes payloads that were never encrypted through, so older histories stay readable', async () => {
    const codec = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    await expect(codec.decode([plain()])).resolves.toEqual([plain()]);
  });

  it('refuses a truncated encrypted payload', async () => {
    const codec = await AesGcmPayloadCodec.create({ keys: { k1: oldKey }, encryptionKeyId: 'k1' });
    const [encoded] = await codec.encode([plain()]);
    await expect(codec.decode([{ ...encoded, data: encoded!.data!.subarray(0, 10) }])).rejects.toMatchObject({
      code: 'codec.malformed_payload',
    });
  });

  it.each([
    ['no keys', { keys: {}, encryptionKeyId: 'k1' }, /options\.keys is empty/],
    [
      'an encryption key id that is not among the keys',
      { keys: { k1: oldKey }, encryptionKeyId: 'k9' },
      /options\.encryptionKeyId/,
    ],
    [
      'a key of the wrong length',
      { keys: { k1: randomBytes(16) }, encryptionKeyId: 'k1' },
      /options\.keys\["k1"\] must be 32 bytes/,
    ],
    ['a key id with a separator in it', { keys: { 'k:1': oldKey }, encryptionKeyId: 'k:1' }, /key id "k:1"/],
  ])('rejects %s with a TypeError naming the option', async (_, options, message) => {
    await expect(AesGcmPayloadCodec.create(options)).rejects.toThrow(message);
    await expect(AesGcmPayloadCodec.create(options)).rejects.toBeInstanceOf(TypeError);
  });

  it('never puts key material in a validation error', async () => {
    const material = Buffer.from('k'.repeat(20)).toString('base64');
    await expect(
      AesGcmPayloadCodec.create({ keys: { k1: material }, encryptionKeyId: 'k1' }),
    ).rejects.not.toThrow(material);
  });

  // Regression (issue 14, finding 10): a 100,068-character key id chosen by whoever wrote the payload
  // was echoed whole in the error.
  it('echoes at most 64 characters of an attacker-chosen key id', async () => {
    const codec = await AesGcmPayloadCodec.create({ keys: { k: oldKey }, encryptionKeyId: 'k' });
    const [p] = await codec.encode([
      { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new Uint8Array([1]) },
    ]);
    if (!p?.metadata) throw new Error('no payload');
    p.metadata[KEY_ID_METADATA] = new TextEncoder().encode('x'.repeat(100_000));
    const error = await codec.decode([p]).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/100000 characters/);
    expect(error?.message.length).toBeLessThan(300);
  });
});
