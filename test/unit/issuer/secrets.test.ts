import { describe, expect, it } from 'vitest';
import { generateKeyId, generateSecret, hashSecret, verifySecret } from '../../../src/issuer/secrets.js';

describe('access-key secrets', () => {
  it('verifies the right secret, refuses others, and never stores the secret itself', () => {
    const secret = generateSecret();
    const stored = hashSecret(secret);
    expect(stored).not.toContain(secret);
    expect(verifySecret(secret, stored)).toBe(true);
    expect(verifySecret(`${secret}x`, stored)).toBe(false);
    expect(hashSecret(secret)).not.toBe(stored); // salted
  });

  it('treats a malformed stored hash as a mismatch, not a crash', () => {
    expect(verifySecret('x', 'garbage')).toBe(false);
    expect(verifySecret('x', 'md5$a$b')).toBe(false);
  });

  it('generates high-entropy secrets and recognisable key ids', () => {
    expect(generateSecret()).toMatch(/^[\w-]{43}$/);
    expect(generateKeyId()).toMatch(/^trk_[\w-]{16}$/);
    expect(generateSecret()).not.toBe(generateSecret());
  });
});
