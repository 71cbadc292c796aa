import { describe, expect, it } from 'vitest';
import { ChildRegistry } from '../../../src/stateful/children.js';

describe('ChildRegistry', () => {
  it('counts a starting child as pending but never signals it before its start resolved', () => {
    const children = new ChildRegistry();
    children.starting('a', true);
    expect(children.due(1)).toEqual([]);
    expect(children.counts(1)).toEqual({ reached: 0, pending: 1, excluded: 0, skipped: 0 });
    expect(children.settled(1)).toBe(false);
  });

  it('owes a child started mid-rotation the version that arrived while it was starting', () => {
    const children = new ChildRegistry();
    children.starting('a', true);
    children.started('a', 5); // handed version 5 in its input; the parent meanwhile holds 6
    expect(children.due(6)).toEqual(['a']);
    children.delivered('a', 6);
    expect(children.due(6)).toEqual([]);
    expect(children.counts(6)).toEqual({ reached: 1, pending: 0, excluded: 0, skipped: 0 });
  });

  it('never owes an excluded child anything', () => {
    const children = new ChildRegistry();
    children.starting('x', false);
    children.started('x', 0);
    expect(children.due(9)).toEqual([]);
    expect(children.counts(9)).toEqual({ reached: 0, pending: 0, excluded: 1, skipped: 0 });
    expect(children.settled(9)).toBe(true);
  });

  it('stops owing a skipped child and counts it as skipped', () => {
    const children = new ChildRegistry();
    children.starting('a', true);
    children.started('a', 1);
    children.skip('a');
    expect(children.due(2)).toEqual([]);
    expect(children.counts(2)).toEqual({ reached: 0, pending: 0, excluded: 0, skipped: 1 });
  });

  it('does not move a child back when an older delivery is recorded late', () => {
    const children = new ChildRegistry();
    children.starting('a', true);
    children.started('a', 3);
    children.delivered('a', 2);
    expect(children.due(3)).toEqual([]);
  });

  it('forgets a child whose start failed', () => {
    const children = new ChildRegistry();
    children.starting('a', true);
    children.forget('a');
    expect(children.settled(1)).toBe(true);
    expect(children.carry()).toEqual([]);
  });

  it('carries running children with their delivered version across continue-as-new, not skipped ones', () => {
    const children = new ChildRegistry();
    for (const id of ['a', 'b', 'x']) children.starting(id, id !== 'x');
    children.started('a', 2);
    children.started('b', 2);
    children.started('x', 0);
    children.skip('b');
    const carried = children.carry();
    expect(carried).toEqual([
      { workflowId: 'a', propagate: true, delivered: 2 },
      { workflowId: 'x', propagate: false, delivered: 0 },
    ]);
    const next = new ChildRegistry(carried);
    expect(next.due(3)).toEqual(['a']);
    expect(next.counts(3)).toEqual({ reached: 0, pending: 1, excluded: 1, skipped: 0 });
  });
});
