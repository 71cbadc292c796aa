import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { recordOf } from '../../../src/stateful/rotation/activities.js';
import { RotationError } from '../../../src/stateful/rotation/errors.js';
import {
  assertIntervalFitsLifetime,
  defaultRotationIntervalMs,
} from '../../../src/stateful/rotation/interval.js';
import { planApiTokenRotation } from '../../../src/stateful/rotation/schedule.js';
import { rotationWorkflowsPath } from '../../../src/stateful/rotation/worker.js';

const targets = { workflowIds: ['inventory-sync'] };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof RotationError) return err.code;
    throw err;
  }
  return undefined;
}

describe('the default rotation interval', () => {
  it('is a third of the token lifetime, in whole seconds', () => {
    expect(defaultRotationIntervalMs(20_000)).toBe(6_000);
    expect(defaultRotationIntervalMs(600_000)).toBe(200_000);
    expect(defaultRotationIntervalMs(3_600_000)).toBe(1_200_000);
    expect(defaultRotationIntervalMs(3_000)).toBe(1_000);
  });

  it('leaves two more rotations before a token expires', () => {
    for (const lifetime of [10_000, 20_000, 61_000, 600_000, 86_400_000]) {
      expect(defaultRotationIntervalMs(lifetime) * 2).toBeLessThan(lifetime);
    }
  });

  it('refuses lifetimes it cannot split', () => {
    expect(codeOf(() => defaultRotationIntervalMs(2_000))).toBe('rotation.invalid_option');
    expect(codeOf(() => defaultRotationIntervalMs(Number.NaN))).toBe('rotation.invalid_option');
  });

  it('refuses an interval of half the lifetime or more', () => {
    expect(codeOf(() => assertIntervalFitsLifetime(10_000, 20_000))).toBeUndefined();
    expect(codeOf(() => assertIntervalFitsLifetime(10_001, 20_000))).toBe('rotation.interval_too_long');
    expect(codeOf(() => assertIntervalFitsLifetime(60_000, 60_000))).toBe('rotation.interval_too_long');
  });
});

describe('planApiTokenRotation', () => {
  it('derives the interval from the token lifetime when none is given', () => {
    const plan = planApiTokenRotation({ scheduleId: 's', tokenLifetime: '20s', targets });
    expect(plan.everyMs).toBe(6_000);
    expect(plan.cron).toBeNull();
    expect(plan.taskQueue).toBe('tokenrelay-rotation');
    expect(plan.input).toEqual({ targets, confirmTimeoutMs: 4_200, scheduleId: 's' });
    expect(plan.catchupWindowMs).toBe(10_000);
  });

  it('takes every, revokeAfter, confirmTimeout and a query', () => {
    const plan = planApiTokenRotation({
      scheduleId: 'rot-1',
      every: '10s',
      tokenLifetime: '20s',
      revokeAfter: '2s',
      confirmTimeout: '4s',
      targets: { workflowIds: ['a', 'a', 'b'], query: " WorkflowType = 'inventorySync' " },
    });
    expect(plan.everyMs).toBe(10_000);
    expect(plan.input).toEqual({
      targets: { workflowIds: ['a', 'b'], query: "WorkflowType = 'inventorySync'" },
      confirmTimeoutMs: 4_000,
      revokeAfterMs: 2_000,
      scheduleId: 'rot-1',
    });
  });

  it('takes a cron expression instead', () => {
    const plan = planApiTokenRotation({ scheduleId: 's', cron: '*/5  * * * *', targets });
    expect(plan).toMatchObject({ everyMs: null, cron: '*/5 * * * *' });
  });

  it.each([
    ['no schedule id', { scheduleId: '', every: '10s', targets }, 'rotation.invalid_option'],
    ['a schedule id with spaces', { scheduleId: 'a b', every: '10s', targets }, 'rotation.invalid_option'],
    ['no targets', { scheduleId: 's', every: '10s', targets: {} }, 'rotation.invalid_option'],
    [
      'an empty workflow id',
      { scheduleId: 's', every: '10s', targets: { workflowIds: [''] } },
      'rotation.invalid_option',
    ],
    ['a blank query', { scheduleId: 's', every: '10s', targets: { query: '  ' } }, 'rotation.invalid_option'],
    ['no interval at all', { scheduleId: 's', targets }, 'rotation.invalid_option'],
    [
      'every and cron',
      { scheduleId: 's', every: '10s', cron: '* * * * *', targets },
      'rotation.invalid_option',
    ],
    ['a cron of 3 fields', { scheduleId: 's', cron: '* * *', targets }, 'rotation.invalid_option'],
    ['a sub-second interval', { scheduleId: 's', every: '500ms', targets }, 'rotation.invalid_option'],
    ['a non-duration', { scheduleId: 's', every: 'soon', targets }, 'rotation.invalid_option'],
    [
      'too slow for the lifetime',
      { scheduleId: 's', every: '15s', tokenLifetime: '20s', targets },
      'rotation.interval_too_long',
    ],
    [
      'revoking after the next rotation',
      { scheduleId: 's', every: '10s', revokeAfter: '10s', targets },
      'rotation.invalid_option',
    ],
    [
      'a catch-up window under 10 s',
      { scheduleId: 's', every: '10s', catchupWindow: '5s', targets },
      'rotation.invalid_option',
    ],
  ])('refuses %s', (_, options, code) => {
    expect(codeOf(() => planApiTokenRotation(options as never))).toBe(code);
  });
});

describe('recordOf', () => {
  it('names a JWT by fingerprint, jti and exp, never by value', () => {
    const payload = Buffer.from(JSON.stringify({ jti: 'tok-1', exp: 2_000_000_000 })).toString('base64url');
    const token = `eyJhbGciOiJub25lIn0.${payload}.sig`;
    const record = recordOf(token);
    expect(record).toEqual({
      fingerprint: expect.any(String),
      tokenId: 'tok-1',
      expiresAt: new Date(2_000_000_000_000).toISOString(),
    });
    expect(JSON.stringify(record)).not.toContain(token);
  });

  it('takes an opaque token by fingerprint only', () => {
    expect(recordOf('opaque-token', Number.POSITIVE_INFINITY)).toEqual({
      fingerprint: expect.any(String),
      tokenId: null,
      expiresAt: null,
    });
  });
});

describe('the rotator workflow', () => {
  it('bundles for the workflow sandbox', async () => {
    const bundle = await bundleWorkflowCode({
      workflowsPath: rotationWorkflowsPath(),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    expect(bundle.code).toContain('apiTokenRotation');
  }, 60_000);
});
