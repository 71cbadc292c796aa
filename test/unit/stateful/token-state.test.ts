import { describe, expect, it } from 'vitest';
import { apiTokenFingerprint } from '../../../src/stateful/fingerprint.js';
import { ApiTokenState, isEnvelope } from '../../../src/stateful/token-state.js';

const t0 = new Date('2026-11-23T10:00:00Z');
const t1 = new Date('2026-11-23T10:05:00Z');

describe('ApiTokenState', () => {
  it('holds nothing at version 0 until a token arrives', () => {
    const state = new ApiTokenState();
    expect(state.current).toBeNull();
    expect(state.version).toBe(0);
  });

  it('stamps each raw token from a rotator with the next version', () => {
    const state = new ApiTokenState();
    expect(state.accept('first', t0)).toEqual({ accepted: true, version: 1 });
    expect(state.accept('second', t1)).toEqual({ accepted: true, version: 2 });
    expect(state.current).toEqual({
      token: 'second',
      version: 2,
      fingerprint: apiTokenFingerprint('second'),
      updatedAt: t1.toISOString(),
    });
  });

  it('takes an envelope only when it is newer than the held version', () => {
    const state = new ApiTokenState({ envelope: { token: 'v3', version: 3 }, updatedAt: t0.toISOString() });
    expect(state.accept({ token: 'v5', version: 5 }, t1)).toEqual({ accepted: true, version: 5 });
    expect(state.current?.token).toBe('v5');
  });

  it('ignores a stale envelope that arrives after a newer token', () => {
    const state = new ApiTokenState();
    state.accept({ token: 'new', version: 4 }, t1);
    expect(state.accept({ token: 'old', version: 3 }, t1)).toEqual({ accepted: false, reason: 'stale' });
    // The same version again (a repeated delivery) does not replace the token either.
    expect(state.accept({ token: 'other', version: 4 }, t1)).toEqual({ accepted: false, reason: 'stale' });
    expect(state.current).toMatchObject({ token: 'new', version: 4, updatedAt: t1.toISOString() });
  });

  it('continues the version sequence of a handed-down token when a raw token arrives', () => {
    const state = new ApiTokenState({
      envelope: { token: 'from parent', version: 7 },
      updatedAt: t0.toISOString(),
    });
    expect(state.accept('rotated here', t1)).toEqual({ accepted: true, version: 8 });
  });

  it.each([
    ['an empty string', ''],
    ['a number', 42],
    ['null', null],
    ['an envelope without a token', { version: 2 }],
    ['an envelope with an empty token', { token: '', version: 2 }],
    ['an envelope with version 0', { token: 'x', version: 0 }],
    ['an envelope with a fractional version', { token: 'x', version: 1.5 }],
    ['an envelope with a string version', { token: 'x', version: '9' }],
    ['a token longer than 64 KiB', 'x'.repeat(64 * 1024 + 1)],
  ])('rejects %s as malformed and keeps the held token', (_, value) => {
    const state = new ApiTokenState();
    state.accept('held', t0);
    expect(state.accept(value, t1)).toEqual({ accepted: false, reason: 'malformed' });
    expect(state.current).toMatchObject({ token: 'held', version: 1 });
  });

  it('ignores a malformed initial envelope', () => {
    expect(new ApiTokenState({ envelope: { token: 'x', version: -1 }, updatedAt: '' }).current).toBeNull();
  });
});

describe('isEnvelope', () => {
  it('accepts { token, version } with a positive integer version only', () => {
    expect(isEnvelope({ token: 'a', version: 1 })).toBe(true);
    expect(isEnvelope({ token: 'a', version: Number.MAX_SAFE_INTEGER + 1 })).toBe(false);
    expect(isEnvelope('a')).toBe(false);
  });
});
