import { describe, expect, it } from 'vitest';
import { isNoPollerSeen } from '../../../src/temporal/errors.js';

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
