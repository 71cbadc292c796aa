import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../../src/util/semaphore.js';

/** A promise and the function that resolves it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('lets at most `permits` run at once and the rest in arrival order as permits free up', async () => {
    const semaphore = new Semaphore(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      semaphore.run(async () => {
        started.push(i);
        await g.opened;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect(semaphore.held).toBe(2);
    gates[1]!.open();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2, 3]);
    expect(semaphore.held).toBe(0);
  });

  it('frees the permit when the holder throws', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(semaphore.held).toBe(0);
    await expect(semaphore.run(async () => 'next')).resolves.toBe('next');
  });

  it('refuses a count of permits that could never let anyone run', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow('at least one permit');
  });
});
