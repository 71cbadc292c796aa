import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemporalConnectError } from '../../../src/temporal/errors.js';
import { resolveConnectionSettings } from '../../../src/temporal/settings.js';
import { testTempDir } from '../../support/temp-dir.js';

const tls = { caCertPath: '/pki/ca.pem', clientCertPath: '/pki/c.pem', clientKeyPath: '/pki/k.pem' };
const tlsEnv = {
  TEMPORAL_TLS_CLIENT_CERT_PATH: '/env/c.pem',
  TEMPORAL_TLS_CLIENT_KEY_PATH: '/env/k.pem',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/env/ca.pem',
  TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
};

describe('resolveConnectionSettings', () => {
  it('takes explicit settings as they are, without reading any Temporal CLI configuration', () => {
    const env = { TEMPORAL_PROFILE: 'missing-profile', TEMPORAL_API_KEY: 'k' };
    expect(resolveConnectionSettings({ address: 'h:7233', tls, envConfig: undefined }, 'fn')).toEqual({
      address: 'h:7233',
      namespace: 'default',
      tls,
    });
    // Even a broken environment does not matter when nothing is read from it.
    expect(() => resolveConnectionSettings({ address: 'h:7233', tls, envConfig: { env } }, 'fn')).toThrow();
  });

  it('reads address, namespace and TLS file paths from TEMPORAL_* variables the way the Temporal CLI does', () => {
    const settings = resolveConnectionSettings(
      { envConfig: { env: { TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'orders', ...tlsEnv } } },
      'fn',
    );
    expect(settings).toEqual({
      address: 'temporal:7233',
      namespace: 'orders',
      tls: {
        caCertPath: '/env/ca.pem',
        clientCertPath: '/env/c.pem',
        clientKeyPath: '/env/k.pem',
        serverName: 'temporal.internal',
      },
    });
  });

  it('reads a named profile from a temporal.toml, and explicit options win over it', async () => {
    const dir = await testTempDir('tokenrelay-envconfig-');
    const file = join(dir, 'temporal.toml');
    await writeFile(
      file,
      [
        '[profile.prod]',
        'address = "prod:7233"',
        'namespace = "billing"',
        '[profile.prod.tls]',
        'client_cert_path = "/prod/c.pem"',
        'client_key_path = "/prod/k.pem"',
      ].join('\n'),
    );
    const fromProfile = resolveConnectionSettings(
      { envConfig: { profile: 'prod', configFile: file, env: {} } },
      'fn',
    );
    expect(fromProfile.address).toBe('prod:7233');
    expect(fromProfile.namespace).toBe('billing');
    expect(fromProfile.tls).toEqual({ clientCertPath: '/prod/c.pem', clientKeyPath: '/prod/k.pem' });
    const overridden = resolveConnectionSettings(
      { address: 'other:7233', envConfig: { profile: 'prod', configFile: file, env: {} } },
      'fn',
    );
    expect(overridden.address).toBe('other:7233');
    expect(() =>
      resolveConnectionSettings({ envConfig: { profile: 'nope', configFile: file, env: {} } }, 'fn'),
    ).toThrow(TemporalConnectError);
  });

  it('rejects a profile API key, because tokenrelay supplies the token', () => {
    expect(() =>
      resolveConnectionSettings(
        { envConfig: { env: { TEMPORAL_ADDRESS: 'h:1', TEMPORAL_API_KEY: 'secret-key', ...tlsEnv } } },
        'connectWorker',
      ),
    ).toThrow(/connectWorker: .*TEMPORAL_API_KEY.*remove the API key/);
  });

  it('rejects a profile that disables TLS unless TLS is given explicitly', () => {
    const env = { TEMPORAL_ADDRESS: 'h:1', TEMPORAL_TLS: 'false' };
    expect(() => resolveConnectionSettings({ envConfig: { env } }, 'fn')).toThrow(/disables TLS/);
    expect(resolveConnectionSettings({ tls, envConfig: { env } }, 'fn').address).toBe('h:1');
  });

  it('names the missing or malformed option', () => {
    expect(() => resolveConnectionSettings({ tls, envConfig: false }, 'connectClient')).toThrow(
      /connectClient: options.address is required .*TEMPORAL_ADDRESS/,
    );
    expect(() => resolveConnectionSettings({ address: 'no-port', tls }, 'fn')).toThrow(
      /options.address must be "host:port", got "no-port"/,
    );
    expect(() => resolveConnectionSettings({ address: 'h:1', envConfig: false }, 'fn')).toThrow(
      /options.tls is required/,
    );
  });
});
