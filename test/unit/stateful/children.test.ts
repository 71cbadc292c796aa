import { describe, expect, it } from 'vitest';
import { ChildRegistry, type HeldVersion } from '../../../src/stateful/children.js';

const v = (version: number, fingerprint: string | null = `fp${version}`): HeldVersion => ({
  version,
  fingerprint,
});
const counts = (c: Partial<ReturnType<ChildRegistry['counts']>>) => ({
  reached: 0,
  unconfirmed: 0,
  pending: 0,
  excluded: 0,
  skipped: 0,
  ...c,
});

/** A registry with opted-in running children started holding `handed`. */
function running(ids: string[], handed: HeldVersion | null = v(1)): ChildRegistry {
  const children = new ChildRegistry();
  for (const id of ids) {
    children.starting(id, 'node', true);
    children.started(id, handed);
  }
  return children;
}

describe('ChildRegistry', () => {
  it('counts a starting child as pending but never owes it a handoff before its start resolved', () => {
    const children = new ChildRegistry();
    children.starting('a', 'node', true);
    expect(children.owed(v(1))).toEqual([]);
    expect(children.counts(v(1))).toEqual(counts({ pending: 1 }));
    expect(children.settled(v(1))).toBe(false);
  });

  it('counts a start with the token in its input as sent and confirmed', () => {
    const children = running(['a'], v(5));
    expect(children.counts(v(5))).toEqual(counts({ reached: 1 }));
    expect(children.list()).toEqual([
      {
        workflowId: 'a',
        workflowType: 'node',
        propagate: true,
        state: 'running',
        sentVersion: 5,
        confirmedVersion: 5,
      },
    ]);
  });

  it('owes a child started mid-rotation the version that arrived while it was starting', () => {
    const children = running(['a'], v(5)); // handed 5 in its input; the parent meanwhile holds 6
    expect(children.owed(v(6))).toEqual(['a']);
    expect(children.counts(v(6))).toEqual(counts({ pending: 1 }));
    children.delivered('a', v(6));
    expect(children.owed(v(6))).toEqual([]);
    expect(children.settled(v(6))).toBe(true);
  });

  it('counts a delivered handoff as reached, and only a delivered one', () => {
    const children = running(['a', 'b']);
    children.delivered('a', v(2));
    // b's handoff is still in flight: owed, not reached.
    expect(children.counts(v(2))).toEqual(counts({ reached: 1, pending: 1 }));
    expect(children.settled(v(2))).toBe(false);
    children.delivered('b', v(2));
    expect(children.counts(v(2))).toEqual(counts({ reached: 2 }));
    expect(children.settled(v(2))).toBe(true);
    expect(children.list().map((c) => [c.sentVersion, c.confirmedVersion])).toEqual([
      [2, 2],
      [2, 2],
    ]);
  });

  it('takes a delivered version back when the child refuses it, until a later handoff is delivered', () => {
    const children = running(['a']);
    children.delivered('a', v(2));
    expect(children.confirm({ workflowId: 'a', version: 1, fingerprint: 'fp1', refusedVersion: 2 })).toBe(
      true,
    );
    expect(children.counts(v(2))).toEqual(counts({ unconfirmed: 1 }));
    expect(children.list()[0]?.confirmedVersion).toBe(1);
    // Sent is still 2, so the refused version is not sent again; the next rotation is.
    expect(children.owed(v(2))).toEqual([]);
    children.delivered('a', v(3));
    expect(children.counts(v(3))).toEqual(counts({ reached: 1 }));
  });

  it('ignores a refusal of an older send than the newest (the newer one was delivered since)', () => {
    const children = running(['a']);
    children.delivered('a', v(2));
    children.delivered('a', v(3));
    children.confirm({ workflowId: 'a', version: 1, fingerprint: 'fp1', refusedVersion: 2 });
    expect(children.list()[0]?.confirmedVersion).toBe(3);
    expect(children.counts(v(3))).toEqual(counts({ reached: 1 }));
  });

  it('ignores acks from ids it did not start and from excluded children', () => {
    const children = running(['a']);
    children.starting('x', 'node', false);
    children.started('x', null);
    expect(children.confirm({ workflowId: 'stranger', version: 9, fingerprint: 'fp9' })).toBe(false);
    expect(children.confirm({ workflowId: 'x', version: 9, fingerprint: 'fp9' })).toBe(false);
    expect(children.list().map((c) => c.confirmedVersion)).toEqual([1, 0]);
  });

  it('never lets a late, older plain ack lower a confirmation', () => {
    const children = running(['a']);
    children.delivered('a', v(3));
    children.confirm({ workflowId: 'a', version: 2, fingerprint: 'fp2' });
    expect(children.list()[0]?.confirmedVersion).toBe(3);
    expect(children.counts(v(3))).toEqual(counts({ reached: 1 }));
  });

  it('does not move a child back when an older send is recorded late', () => {
    const children = running(['a'], v(3));
    children.delivered('a', v(2));
    expect(children.owed(v(3))).toEqual([]);
    expect(children.list()[0]?.sentVersion).toBe(3);
  });

  it('owes a child the same version again when the parent took another token at it (a lost tie)', () => {
    const children = running(['a'], v(7, 'mine'));
    expect(children.owed(v(7, 'theirs'))).toEqual(['a']);
    expect(children.counts(v(7, 'theirs'))).toEqual(counts({ pending: 1 }));
    children.delivered('a', v(7, 'theirs'));
    expect(children.owed(v(7, 'theirs'))).toEqual([]);
    expect(children.counts(v(7, 'theirs'))).toEqual(counts({ reached: 1 }));
  });

  it('has someone to hand a token to only while an opted-in child is starting or running', () => {
    const children = new ChildRegistry();
    expect(children.anyOptedIn()).toBe(false);
    children.starting('x', 'node', false);
    children.started('x', null);
    expect(children.anyOptedIn()).toBe(false);
    children.starting('a', 'node', true);
    expect(children.anyOptedIn()).toBe(true);
    children.started('a', v(1));
    expect(children.anyOptedIn()).toBe(true);
    children.skip('a');
    expect(children.anyOptedIn()).toBe(false);
  });

  it('never owes an excluded child anything', () => {
    const children = new ChildRegistry();
    children.starting('x', 'node', false);
    expect(children.settled(v(9))).toBe(true);
    children.started('x', null);
    expect(children.owed(v(9))).toEqual([]);
    expect(children.counts(v(9))).toEqual(counts({ excluded: 1 }));
    expect(children.settled(v(9))).toBe(true);
  });

  it('stops owing a skipped child and counts it as skipped', () => {
    const children = running(['a']);
    children.skip('a');
    expect(children.owed(v(2))).toEqual([]);
    expect(children.counts(v(2))).toEqual(counts({ skipped: 1 }));
  });

  it('forgets a child whose start failed', () => {
    const children = new ChildRegistry();
    children.starting('a', 'node', true);
    children.forget('a');
    expect(children.settled(v(1))).toBe(true);
    expect(children.carry()).toEqual([]);
  });

  it('carries running children with what was sent and confirmed across continue-as-new, not skipped ones', () => {
    const children = running(['a', 'b'], v(2));
    children.starting('x', 'other', false);
    children.started('x', null);
    children.delivered('a', v(3));
    children.skip('b');
    const next = new ChildRegistry(children.carry());
    expect(next.list()).toEqual([
      {
        workflowId: 'a',
        workflowType: 'node',
        propagate: true,
        state: 'running',
        sentVersion: 3,
        confirmedVersion: 3,
      },
      {
        workflowId: 'x',
        workflowType: 'other',
        propagate: false,
        state: 'running',
        sentVersion: 0,
        confirmedVersion: 0,
      },
    ]);
    expect(next.counts(v(3))).toEqual(counts({ reached: 1, excluded: 1 }));
    expect(next.owed(v(4))).toEqual(['a']);
  });

  describe('release 0.1.0 compatibility', () => {
    it('reads children carried by a 0.1.0 run and confirms their delivered version with a handoff', () => {
      const next = new ChildRegistry([
        { workflowId: 'a', propagate: true, delivered: 4 },
        { workflowId: 'x', propagate: false, delivered: 0 },
      ]);
      expect(next.list()).toEqual([
        {
          workflowId: 'a',
          workflowType: '',
          propagate: true,
          state: 'running',
          sentVersion: 4,
          confirmedVersion: 0,
        },
        {
          workflowId: 'x',
          workflowType: '',
          propagate: false,
          state: 'running',
          sentVersion: 0,
          confirmedVersion: 0,
        },
      ]);
      // 0.1.0's own rule: delivered, nothing due. The handoff rule: send it again, to be confirmed.
      expect(next.legacyDue(4)).toEqual([]);
      expect(next.owed(v(4))).toEqual(['a']);
      next.delivered('a', v(4));
      expect(next.owed(v(4))).toEqual([]);
    });

    it('applies 0.1.0 waves by version alone, and owes an envelope sent on the public signal a handoff', () => {
      const children = running(['a', 'b'], v(1));
      expect(children.legacyDue(2)).toEqual(['a', 'b']);
      children.sentOnLegacySignal('a', v(2));
      expect(children.legacyDue(2)).toEqual(['b']);
      expect(children.legacySettled(2)).toBe(false);
      children.sentOnLegacySignal('b', v(2));
      expect(children.legacySettled(2)).toBe(true);
      expect(children.owed(v(2))).toEqual(['a', 'b']);
      expect(children.counts(v(2))).toEqual(counts({ unconfirmed: 2 }));
    });
  });
});
