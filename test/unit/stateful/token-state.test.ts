import { describe, expect, it } from 'vitest';
import { apiTokenFingerprint } from '../../../src/stateful/fingerprint.js';
import {
  ApiTokenState,
  isEnvelope,
  isFutureVersion,
  MAX_FUTURE_MS,
} from '../../../src/stateful/token-state.js';

const t0 = new Date('2026-11-23T10:00:00Z');
const t1 = new Date('2026-11-23T10:05:00Z');
const ms = (d: Date) => d.getTime();
const held = (token: string, version: number) =>
  new ApiTokenState({ envelope: { token, version }, updatedAt: t0.toISOString() });

describe('ApiTokenState', () => {
  it('holds nothing at version 0 until a token arrives', () => {
    const state = new ApiTokenState();
    expect(state.current).toBeNull();
    expect(state.version).toBe(0);
  });

  describe('rotate (a raw token from a rotator)', () => {
    it('stamps the workflow time in milliseconds when that is newer than what is held', () => {
      const state = held('first', 1);
      expect(state.rotate('second', t1)).toEqual({ accepted: true, version: ms(t1) });
      expect(state.current).toEqual({
        token: 'second',
        version: ms(t1),
        fingerprint: apiTokenFingerprint('second'),
        updatedAt: t1.toISOString(),
      });
    });

    it('stamps held + 1 when rotations come faster than the clock moves, so versions stay distinct', () => {
      const state = new ApiTokenState();
      const versions = [1, 2, 3, 4, 5].map((i) => state.rotate(`burst-${i}`, t0));
      expect(versions.map((o) => (o.accepted ? o.version : 0))).toEqual([
        ms(t0),
        ms(t0) + 1,
        ms(t0) + 2,
        ms(t0) + 3,
        ms(t0) + 4,
      ]);
    });

    it('gives a later rotation of the root a higher version than an earlier one of a subtree', () => {
      // The bug of 0.1.0: both were held + 1 and collided at the same version with different tokens.
      const root = held('T', 2);
      const subtree = held('T', 2);
      const atSubtree = subtree.rotate('subtree token', t0);
      const atRoot = root.rotate('root token', new Date(ms(t0) + 1));
      expect(atSubtree.accepted && atRoot.accepted).toBe(true);
      expect(root.version).toBeGreaterThan(subtree.version);
      expect(subtree.handoff({ token: 'root token', version: root.version }, t1)).toEqual({
        accepted: true,
        version: root.version,
      });
    });

    it('refuses an envelope: parents use the handoff signal', () => {
      const state = held('kept', 3);
      expect(state.rotate({ token: 'pin', version: 1e15 }, t1)).toEqual({
        accepted: false,
        reason: 'envelope_refused',
      });
      expect(state.current).toMatchObject({ token: 'kept', version: 3 });
    });
  });

  describe('handoff (from the parent)', () => {
    it('takes a newer version', () => {
      const state = held('v3', 3);
      expect(state.handoff({ token: 'v5', version: 5 }, t1)).toEqual({ accepted: true, version: 5 });
      expect(state.current).toMatchObject({ token: 'v5', updatedAt: t1.toISOString() });
    });

    it('ignores an older version, and the same token at the same version', () => {
      const state = held('new', 4);
      expect(state.handoff({ token: 'old', version: 3 }, t1)).toEqual({ accepted: false, reason: 'stale' });
      expect(state.handoff({ token: 'new', version: 4 }, t1)).toEqual({ accepted: false, reason: 'stale' });
      expect(state.current).toMatchObject({ token: 'new', version: 4, updatedAt: t0.toISOString() });
    });

    it('lets the parent win a tie: a different token at the same version replaces the held one', () => {
      const state = held('child rotated at the same millisecond', ms(t0));
      expect(state.handoff({ token: 'parent', version: ms(t0) }, t1)).toEqual({
        accepted: true,
        version: ms(t0),
      });
      expect(state.current?.token).toBe('parent');
    });

    it('refuses a version more than an hour ahead of workflow time (a pin attempt)', () => {
      const state = held('kept', ms(t0));
      expect(state.handoff({ token: 'pin', version: 1e15 }, t0)).toEqual({
        accepted: false,
        reason: 'future',
      });
      const edge = ms(t0) + MAX_FUTURE_MS;
      expect(state.handoff({ token: 'edge', version: edge + 1 }, t0)).toEqual({
        accepted: false,
        reason: 'future',
      });
      expect(state.handoff({ token: 'edge', version: edge }, t0)).toEqual({ accepted: true, version: edge });
    });

    it('lets the next rotation or handoff replace a version pinned far ahead under release 0.1.0', () => {
      const pinned = held('pinned', 1e15);
      expect(pinned.handoff({ token: 'parent', version: ms(t1) }, t1)).toEqual({
        accepted: true,
        version: ms(t1),
      });
      const alsoPinned = held('pinned', 1e15);
      expect(alsoPinned.rotate('rotated', t1)).toEqual({ accepted: true, version: ms(t1) });
    });
  });

  describe('acceptLegacy (release 0.1.0, for replay)', () => {
    it('stamps raw tokens held + 1 and takes an envelope only when newer', () => {
      const state = new ApiTokenState();
      expect(state.acceptLegacy('first', t0)).toEqual({ accepted: true, version: 1 });
      expect(state.acceptLegacy('second', t1)).toEqual({ accepted: true, version: 2 });
      expect(state.acceptLegacy({ token: 'old', version: 2 }, t1)).toEqual({
        accepted: false,
        reason: 'stale',
      });
      expect(state.acceptLegacy({ token: 'v7', version: 7 }, t1)).toEqual({ accepted: true, version: 7 });
      expect(state.acceptLegacy('third', t1)).toEqual({ accepted: true, version: 8 });
    });
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
  ])('rejects %s as malformed everywhere and keeps the held token', (_, value) => {
    const state = held('held', 1);
    if (typeof value !== 'string') {
      expect(state.handoff(value, t1)).toEqual({ accepted: false, reason: 'malformed' });
    }
    expect(state.rotate(value, t1)).toEqual({ accepted: false, reason: 'malformed' });
    expect(state.acceptLegacy(value, t1)).toEqual({ accepted: false, reason: 'malformed' });
    expect(state.current).toMatchObject({ token: 'held', version: 1 });
  });

  it('ignores a malformed initial envelope', () => {
    expect(new ApiTokenState({ envelope: { token: 'x', version: -1 }, updatedAt: '' }).current).toBeNull();
  });
});

describe('isEnvelope', () => {
  it('accepts { token, version } with a positive safe integer version only', () => {
    expect(isEnvelope({ token: 'a', version: 1 })).toBe(true);
    expect(isEnvelope({ token: 'a', version: Number.MAX_SAFE_INTEGER + 1 })).toBe(false);
    expect(isEnvelope('a')).toBe(false);
  });
});

describe('isFutureVersion', () => {
  it('is true beyond an hour ahead of workflow time only', () => {
    expect(isFutureVersion(ms(t0) + MAX_FUTURE_MS, t0)).toBe(false);
    expect(isFutureVersion(ms(t0) + MAX_FUTURE_MS + 1, t0)).toBe(true);
  });
});
