import { describe, expect, it } from 'vitest';
import { signingKeySchedule } from '../../../src/issuer/signing-key-schedule.js';

const S = 1000;
const key = (kid: string, activatesAtMs: number) => ({
  kid,
  createdAtMs: activatesAtMs - 60 * S,
  activatesAtMs,
});
const states = (nowMs: number, lifetime = 100) =>
  signingKeySchedule([key('b', 1000 * S), key('a', 0), key('c', 2000 * S)], nowMs, lifetime).map(
    (k) => `${k.kid}:${k.state}`,
  );

describe('signingKeySchedule', () => {
  it('keeps a new key pending (published, not signing) until its activation time', () => {
    expect(states(999 * S)).toEqual(['a:active', 'b:pending', 'c:pending']);
    expect(states(1000 * S)).toEqual(['a:retiring', 'b:active', 'c:pending']);
  });

  it('keeps a replaced key retiring until its last token expired, then retires it', () => {
    // a signed until 1000 s; tokens live 100 s, so it must be published until 1100 s.
    expect(states(1099 * S)).toEqual(['a:retiring', 'b:active', 'c:pending']);
    expect(states(1100 * S)).toEqual(['a:retired', 'b:active', 'c:pending']);
    expect(states(2000 * S)).toEqual(['a:retired', 'b:retiring', 'c:active']);
  });

  it('states when each key stops signing and leaves the JWKS', () => {
    const [a, b, c] = signingKeySchedule([key('a', 0), key('b', 1000 * S), key('c', 2000 * S)], 0, 100);
    expect(a).toMatchObject({ signsUntilMs: 1000 * S, publishedUntilMs: 1100 * S });
    expect(b).toMatchObject({ signsUntilMs: 2000 * S, publishedUntilMs: 2100 * S });
    expect(c).toMatchObject({ signsUntilMs: undefined, publishedUntilMs: undefined });
  });

  it('has no active key when none has reached its activation time', () => {
    expect(signingKeySchedule([key('a', 10 * S)], 0, 100).map((k) => k.state)).toEqual(['pending']);
  });
});
