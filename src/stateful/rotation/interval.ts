// How often to rotate, from how long a token lives. Pure functions: unit-tested, used by the schedule
// helpers and the CLI.
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { RotationError } from './errors.js';

/**
 * The default rotation interval for tokens that live `lifetimeMs`: a third of it, in whole seconds
 * (at least 1 s). A token then has two more scheduled rotations before it expires, so one failed or
 * skipped rotation is caught up before any node holds an expired token.
 */
export function defaultRotationIntervalMs(lifetimeMs: number): number {
  if (!Number.isFinite(lifetimeMs) || lifetimeMs < 3_000) {
    throw new RotationError(
      'rotation.invalid_option',
      `a token lifetime of at least 3 s is needed to derive a rotation interval, got ${lifetimeMs} ms`,
    );
  }
  return Math.max(1_000, Math.floor(lifetimeMs / 3 / 1_000) * 1_000);
}

/**
 * Refuses an interval at or above half the token lifetime: a single failed rotation would then let
 * tokens expire before the next one.
 */
export function assertIntervalFitsLifetime(everyMs: number, lifetimeMs: number): void {
  if (everyMs * 2 > lifetimeMs) {
    throw new RotationError(
      'rotation.interval_too_long',
      `rotating every ${seconds(everyMs)} is too slow for tokens that live ${seconds(lifetimeMs)}: ` +
        `a single failed rotation would let them expire; rotate at most every ${seconds(Math.floor(lifetimeMs / 2))} ` +
        `(default: every ${seconds(defaultRotationIntervalMs(lifetimeMs))})`,
    );
  }
}

/** A Duration (`'10s'`, `'5 minutes'`, ms number) in ms; refuses what is not one, naming the option. */
export function durationMs(value: Duration, option: string): number {
  let ms: number;
  try {
    ms = msToNumber(value);
  } catch (cause) {
    throw new RotationError(
      'rotation.invalid_option',
      `${option}: not a duration: ${JSON.stringify(value)}`,
      {
        cause,
      },
    );
  }
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RotationError(
      'rotation.invalid_option',
      `${option} must be more than 0, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
