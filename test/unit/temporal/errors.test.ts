import { describe, expect, it } from 'vitest';
import { grpcStatusOf, isNoPollerSeen, ranOutOfDeadline } from '../../../src/temporal/errors.js';

describe('isNoPollerSeen', () => {
  const words = 'no poller seen for task queue recently, worker may be down';

  it("recognises the server's FAILED_PRECONDITION for a task queue without pollers", () => {
    expect(isNoPollerSeen(9, words)).toBe(true);
    expect(isNoPollerSeen(9, `Failed to query Workflow ${words.toUpperCase()}`)).toBe(true);
  });

  it('is false for another failed precondition, or the same words under another code', () => {
    expect(isNoPollerSeen(9, 'Unable to query workflow due to Workflow Task in failed state.')).toBe(false);
    expect(isNoPollerSeen(4, words)).toBe(false);
    expect(isNoPollerSeen(undefined, words)).toBe(false);
  });
});

describe('ranOutOfDeadline', () => {
  const deadline = 1_000_000;

  it("is true for grpc-js's DEADLINE_EXCEEDED whenever it comes", () => {
    expect(ranOutOfDeadline(4, deadline, deadline - 500)).toBe(true);
  });

  it("is true for CANCELLED (the server's reset at its copy of the deadline) once the deadline passed", () => {
    expect(ranOutOfDeadline(1, deadline, deadline)).toBe(true);
    expect(ranOutOfDeadline(1, deadline, deadline + 30)).toBe(true);
  });

  it('is false for CANCELLED before the deadline, and for other codes', () => {
    expect(ranOutOfDeadline(1, deadline, deadline - 1)).toBe(false);
    expect(ranOutOfDeadline(9, deadline, deadline + 30)).toBe(false);
    expect(ranOutOfDeadline(undefined, deadline, deadline + 30)).toBe(false);
  });
});

describe('grpcStatusOf', () => {
  it("finds the status under the Temporal client's ServiceError", () => {
    const status = Object.assign(new Error('1 CANCELLED: Call cancelled'), {
      code: 1,
      details: 'Call cancelled',
      metadata: {},
    });
    const wrapped = Object.assign(new Error('Failed to query Workflow', { cause: status }), {
      name: 'ServiceError',
    });
    expect(grpcStatusOf(wrapped)).toEqual({ code: 1, details: 'Call cancelled' });
  });

  it('is undefined for an error without a gRPC status, or with a string code', () => {
    expect(grpcStatusOf(new Error('plain'))).toBeUndefined();
    expect(
      grpcStatusOf(Object.assign(new Error('x'), { code: 'tree.too_large', details: 'd' })),
    ).toBeUndefined();
    expect(grpcStatusOf(undefined)).toBeUndefined();
  });
});
