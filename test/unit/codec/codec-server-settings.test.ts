import { describe, expect, it } from 'vitest';
import {
  type CodecServerFlags,
  codecServerOptions,
  resolveCodecServerSettings,
} from '../../../src/cli/codec-server-command.js';
import { CliError } from '../../../src/cli/errors.js';
import { generateCodecKey } from '../../../src/codec/codec-keys.js';
import type { DevConfig } from '../../../src/devstack/dev-config.js';

const flags = (extra: Partial<CodecServerFlags> = {}): CodecServerFlags => ({
  port: '8081',
  host: '127.0.0.1',
  maxBodyBytes: '4194304',
  requestTimeoutMs: '10000',
  ...extra,
});
const devKeys = `dev-1:${generateCodecKey()}`;
const dev = {
  temporal: { namespace: 'default' },
  issuer: {
    url: 'http://127.0.0.1:17380',
    jwksUrl: 'http://127.0.0.1:17380/.well-known/jwks.json',
    audience: 'tokenrelay-dev',
  },
  codec: { keys: devKeys },
} as DevConfig;
const noDevStack = async (): Promise<DevConfig> => {
  throw new Error('no dev.json');
};

describe('codec-server settings', () => {
  it('serves the dev stack from dev.json when nothing is given', async () => {
    const settings = await resolveCodecServerSettings(flags(), {}, async () => dev);
    expect(settings).toMatchObject({
      issuer: dev.issuer.url,
      jwksUrl: dev.issuer.jwksUrl,
      audience: 'tokenrelay-dev',
      codecKeys: devKeys,
      defaultNamespace: 'default',
      port: 8081,
      fromDevConfig: ['issuer', 'jwks-url', 'audience', 'codec-keys'],
    });
  });

  it('takes flags over environment and never reads dev.json when everything is given', async () => {
    const settings = await resolveCodecServerSettings(
      flags({ issuer: 'https://issuer.example', audience: 'temporal', namespace: 'payments', port: '0' }),
      {
        TOKENRELAY_JWT_ISSUER: 'https://ignored.example',
        TOKENRELAY_JWT_AUDIENCE: 'ignored',
        TOKENRELAY_CODEC_KEYS: 'k:abc',
      },
      noDevStack,
    );
    expect(settings).toMatchObject({
      issuer: 'https://issuer.example',
      jwksUrl: 'https://issuer.example/.well-known/jwks.json',
      audience: 'temporal',
      codecKeys: 'k:abc',
      defaultNamespace: 'payments',
      port: 0,
      fromDevConfig: [],
    });
  });

  it('reads the environment when flags are absent, an explicit JWKS URL included', async () => {
    const settings = await resolveCodecServerSettings(
      flags(),
      {
        TOKENRELAY_JWT_ISSUER: 'https://issuer.example',
        TOKENRELAY_JWKS_URL: 'https://keys.example/jwks',
        TOKENRELAY_JWT_AUDIENCE: 'temporal',
        TOKENRELAY_CODEC_KEYS: 'k:abc',
      },
      noDevStack,
    );
    expect(settings).toMatchObject({ jwksUrl: 'https://keys.example/jwks', audience: 'temporal' });
  });

  it('says what is missing when there is no dev stack to fall back on', async () => {
    const attempt = resolveCodecServerSettings(
      flags({ issuer: 'https://issuer.example', audience: 'temporal' }),
      {},
      noDevStack,
    );
    await expect(attempt).rejects.toBeInstanceOf(CliError);
    await expect(attempt).rejects.toThrow(/TOKENRELAY_CODEC_KEYS/);
  });

  it.each([
    [{ port: '70000' }, /--port/],
    [{ port: 'abc' }, /--port/],
    [{ maxBodyBytes: '0' }, /--max-body-bytes/],
    [{ issuer: 'issuer.example' }, /--issuer must be an http/],
  ])('refuses %o as invalid_argument (exit code 2)', async (bad, message) => {
    const attempt = resolveCodecServerSettings(flags(bad), {}, async () => dev);
    await expect(attempt).rejects.toMatchObject({ code: 'cli.invalid_argument' });
    await expect(attempt).rejects.toThrow(message);
  });

  it('refuses malformed codec keys without printing them', async () => {
    const settings = await resolveCodecServerSettings(
      flags(),
      { TOKENRELAY_CODEC_KEYS: 'k1:c2hvcnQ=' },
      async () => dev,
    );
    const attempt = codecServerOptions(settings);
    await expect(attempt).rejects.toMatchObject({ code: 'cli.invalid_argument' });
    await expect(attempt).rejects.not.toThrow(/c2hvcnQ/);
  });
});
