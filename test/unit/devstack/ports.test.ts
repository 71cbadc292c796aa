import { describe, expect, it } from 'vitest';
import { ephemeralPortRange, overlapsEphemeral } from '../../../src/devstack/ports.js';

describe('ephemeralPortRange', () => {
  it("reads Linux's live setting", () => {
    expect(ephemeralPortRange('linux', () => '40000\t50000\n')).toEqual({ low: 40000, high: 50000 });
  });

  it("falls back to Linux's default when the file is missing or unreadable", () => {
    const missing = () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    expect(ephemeralPortRange('linux', missing)).toEqual({ low: 32768, high: 60999 });
    expect(ephemeralPortRange('linux', () => 'garbage')).toEqual({ low: 32768, high: 60999 });
    expect(ephemeralPortRange('linux', () => '50000 40000')).toEqual({ low: 32768, high: 60999 });
  });

  it("uses IANA's dynamic range elsewhere", () => {
    expect(ephemeralPortRange('darwin', () => '1 2')).toEqual({ low: 49152, high: 65535 });
  });

  it('matches this machine', () => {
    const range = ephemeralPortRange();
    expect(range.low).toBeGreaterThan(0);
    expect(range.high).toBeGreaterThanOrEqual(range.low);
  });
});

describe('overlapsEphemeral', () => {
  const ephemeral = { low: 32768, high: 60999 };
  it('is true when any port is inside, at either edge', () => {
    expect(overlapsEphemeral({ low: 32000, high: 32768 }, ephemeral)).toBe(true);
    expect(overlapsEphemeral({ low: 60999, high: 61500 }, ephemeral)).toBe(true);
    expect(overlapsEphemeral({ low: 40000, high: 40010 }, ephemeral)).toBe(true);
  });

  it('is false below and above the range', () => {
    expect(overlapsEphemeral({ low: 20000, high: 32767 }, ephemeral)).toBe(false);
    expect(overlapsEphemeral({ low: 61000, high: 62000 }, ephemeral)).toBe(false);
  });
});
