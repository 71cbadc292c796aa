import { InvalidArgumentError } from 'commander';

/**
 * An option parser: commander reports its InvalidArgumentError as a usage error (exit 2). Its own
 * module, so a command that only parses numbers does not load another command's imports.
 */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value.slice(0, 40)}"`);
  }
  return n;
}
