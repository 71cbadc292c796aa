import { describe, expect, it } from 'vitest';
import { jwksMaxAgeSeconds, parseGoDuration, resolveIssuerConfig } from '../../../src/issuer/config.js';

const resolve = (raw: Record<string, unknown>, env: Record<string, string> = {}) =>
  resolveIssuerConfig({ audience: 'aud', ...raw }, '/state/issuer.json', env);

describe('issuer config', () => {
  it('derives the rotation schedule from the verifier refresh interval, also from TOKENRELAY_JWKS_REFRESH', () => {
    const fromFile = resolve({ verifierJwksRefreshSeconds: 5 });
    expect(fromFile.signingKeyPublishAheadSeconds).toBe(10);
    expect(jwksMaxAgeSeconds(fromFile)).toBe(5);
    expect(resolve({}, { TOKENRELAY_JWKS_REFRESH: '1m30s' }).verifierJwksRefreshSeconds).toBe(90);
    expect(resolve({}).verifierJwksRefreshSeconds).toBe(30);
    expect(resolve({}).auditLogPath).toBe('/state/audit.log');
  });

  it('refuses a publish-ahead time shorter than the verifier refresh interval, naming both options', () => {
    expect(() => resolve({ verifierJwksRefreshSeconds: 30, signingKeyPublishAheadSeconds: 10 })).toThrow(
      /signingKeyPublishAheadSeconds.*verifierJwksRefreshSeconds/,
    );
  });

  it('refuses invalid values naming the option', () => {
    expect(() => resolve({ rateLimit: { maxFailures: 0 } })).toThrow(/rateLimit\.maxFailures/);
    expect(() => resolve({ rateLimit: { windowSeconds: -1 } })).toThrow(/rateLimit\.windowSeconds/);
    expect(() => resolve({}, { TOKENRELAY_JWKS_REFRESH: 'soon' })).toThrow(/TOKENRELAY_JWKS_REFRESH/);
    expect(() => resolveIssuerConfig({}, '/x/issuer.json', {})).toThrow(/audience/);
  });

  it('parses Go durations as Temporal does', () => {
    expect(parseGoDuration('30s')).toBe(30);
    expect(parseGoDuration('500ms')).toBe(0.5);
    expect(parseGoDuration('1h2m')).toBe(3720);
    expect(parseGoDuration('30')).toBeUndefined();
    expect(parseGoDuration('3x')).toBeUndefined();
  });
});
