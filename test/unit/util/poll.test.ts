import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pollUntil, sleep } from '../../../src/util/poll.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('sleep', () => {
  it('resolves after the time has passed, not before', async () => {
    let done = false;
    const slept = sleep(1_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
  });

  it('resolves (never rejects) as soon as the signal aborts, and at once when it already has', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(slept).resolves.toBeUndefined();
    await expect(sleep(60_000, controller.signal)).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('pollUntil', () => {
  it('resolves to the first value that is not undefined, null or false', async () => {
    const answers = [undefined, null, false, 0, 'late'];
    const check = vi.fn(() => answers.shift());
    const polled = pollUntil(check, { what: 'a number', timeoutMs: 10_000, intervalMs: 100 });
    await vi.advanceTimersByTimeAsync(300);
    await expect(polled).resolves.toBe(0);
    expect(check).toHaveBeenCalledTimes(4);
  });

  it('times out naming what it waited for, after checking at least once', async () => {
    const check = vi.fn(async () => false as const);
    const polled = pollUntil(check, { what: 'the tree to settle', timeoutMs: 1_000, intervalMs: 300 });
    const failed = expect(polled).rejects.toThrow('timed out after 1s waiting for the tree to settle');
    await vi.advanceTimersByTimeAsync(1_000);
    await failed;
    expect(check.mock.calls.length).toBeGreaterThanOrEqual(4);
  });

  it('throws the error onTimeout builds', async () => {
    class PartError extends Error {}
    const polled = pollUntil(() => false, {
      what: 'x',
      timeoutMs: 0,
      onTimeout: () => new PartError('the part says no'),
    });
    await expect(polled).rejects.toBeInstanceOf(PartError);
  });

  it('stops with the signal’s reason when aborted', async () => {
    const controller = new AbortController();
    const polled = pollUntil(() => false, { what: 'x', timeoutMs: 60_000, signal: controller.signal });
    const stopped = expect(polled).rejects.toThrow('cancelled');
    await vi.advanceTimersByTimeAsync(500);
    controller.abort(new Error('cancelled'));
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
  });
});
