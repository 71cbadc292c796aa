import { describe, expect, it } from 'vitest';
import { temporalServerEnv } from '../../../src/devstack/dev-daemons.js';

describe('temporalServerEnv', () => {
  it('runs the dev server with GOGC=400 when the caller set none', () => {
    const env = temporalServerEnv({ PATH: '/usr/bin' });
    expect(env).toEqual({ PATH: '/usr/bin', GOGC: '400' });
  });

  it("keeps the caller's own GOGC", () => {
    expect(temporalServerEnv({ GOGC: 'off' }).GOGC).toBe('off');
    expect(temporalServerEnv({ GOGC: '' }).GOGC).toBe('400');
  });

  it("does not change the caller's environment object", () => {
    const caller = { PATH: '/usr/bin' };
    temporalServerEnv(caller);
    expect(caller).toEqual({ PATH: '/usr/bin' });
  });
});
