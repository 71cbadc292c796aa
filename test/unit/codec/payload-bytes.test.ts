import { describe, expect, it } from 'vitest';
import { bytesToPayload, payloadToBytes } from '../../../src/codec/payload-bytes.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

describe('payloadToBytes / bytesToPayload', () => {
  it('round-trips metadata and data, including empty values', () => {
    const payload = {
      metadata: { encoding: bytes('json/plain'), empty: new Uint8Array(), ünï: bytes('x') },
      data: bytes('{"a":1}'),
    };
    expect(bytesToPayload(payloadToBytes(payload))).toEqual(payload);
  });

  it('round-trips a payload with no metadata and no data', () => {
    expect(bytesToPayload(payloadToBytes({}))).toEqual({ metadata: {}, data: new Uint8Array() });
  });

  it('refuses bytes of another format version or a truncated entry', () => {
    const encoded = payloadToBytes({ metadata: { encoding: bytes('json/plain') }, data: bytes('1') });
    expect(() => bytesToPayload(Uint8Array.of(2, ...encoded.subarray(1)))).toThrow(/expected format/);
    expect(() => bytesToPayload(encoded.subarray(0, 12))).toThrow(/expected format/);
  });
});
