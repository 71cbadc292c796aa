import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiTokenFingerprint, sha256Hex } from '../../../src/stateful/fingerprint.js';

const nodeSha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('sha256Hex (sandbox-safe SHA-256)', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each([
    ['55 bytes: padding fits in the same block', 'x'.repeat(55)],
    ['56 bytes: padding spills into a second block', 'y'.repeat(56)],
    ['exactly one block', 'z'.repeat(64)],
    ['many blocks', 'eyJhbGciOiJFUzI1NiJ9.'.repeat(90)],
    ['multi-byte UTF-8, including a surrogate pair', 'tökén-€-🔑'],
  ])('agrees with node:crypto on %s', (_, text) => {
    expect(sha256Hex(text)).toBe(nodeSha256(text));
  });
});

describe('apiTokenFingerprint', () => {
  it('is the first 12 hex characters of the SHA-256, and differs between tokens', () => {
    expect(apiTokenFingerprint('token-a')).toBe(nodeSha256('token-a').slice(0, 12));
    expect(apiTokenFingerprint('token-a')).not.toBe(apiTokenFingerprint('token-b'));
  });
});
