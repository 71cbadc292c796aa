import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { describe, expect, it, vi } from 'vitest';
import { AesGcmPayloadCodec } from '../../../src/codec/aes-gcm-codec.js';
import { getApiToken, getApiTokenInfo, rotateApiToken, startParent } from '../../../src/stateful/client.js';
import { ApiTokenGuardError } from '../../../src/stateful/guard-errors.js';
import { assertTokenEncrypted, probePayloadCodecs } from '../../../src/stateful/plaintext-guard.js';
import { assertTokenNotExpired } from '../../../src/stateful/token-expiry.js';

const aesGcm = () => AesGcmPayloadCodec.create({ keys: { k1: randomBytes(32) }, encryptionKeyId: 'k1' });

interface FakeOptions {
  codecs?: PayloadCodec[];
  /** What the apiTokenInfo query answers, or an error it fails with. */
  info?: Record<string, unknown> | Error;
  /** The parent execution DescribeWorkflowExecution reports. */
  describedParent?: string;
}

function fakeClient(options: FakeOptions = {}) {
  const codecs = options.codecs ?? [];
  const withCodecs = { options: { loadedDataConverter: { payloadCodecs: codecs } } };
  const workflowClient = {
    ...withCodecs,
    withDeadline: vi.fn((_deadline: number, fn: () => unknown) => fn()),
  };
  const info = options.info ?? { version: 3, parentWorkflowId: null };
  const handle = {
    workflowId: 'wf-1',
    client: workflowClient,
    signal: vi.fn(async () => {}),
    query: vi.fn(async (def: { name: string }) => {
      if (def.name === 'apiToken') return 'tok';
      if (info instanceof Error) throw info;
      return info;
    }),
    describe: vi.fn(async () => ({
      parentExecution: options.describedParent
        ? { workflowId: options.describedParent, runId: 'r' }
        : undefined,
    })),
  };
  const start = vi.fn(async () => handle);
  const getHandle = vi.fn(() => handle);
  const client = { ...withCodecs, workflow: { ...workflowClient, start, getHandle } } as unknown as Client;
  return { client, handle: handle as unknown as WorkflowHandle, raw: handle, start, getHandle };
}

/** A JWT-shaped token with the given claims (unsigned: the guards decode without verifying). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('startParent', () => {
  it('hands the first token to the root as version 1 in its start input', async () => {
    const { client, start } = fakeClient({ codecs: [await aesGcm()] });
    await startParent(client, 'catalogSync', {
      taskQueue: 'q',
      workflowId: 'root',
      input: { shards: 2 },
      apiToken: 'secret',
    });
    expect(start).toHaveBeenCalledWith('catalogSync', {
      taskQueue: 'q',
      workflowId: 'root',
      args: [{ shards: 2 }, { apiToken: { token: 'secret', version: 1 } }],
    });
  });

  it('starts without a handoff when no token is given, codec or not', async () => {
    const { client, start } = fakeClient();
    await startParent(client, 'catalogSync', { taskQueue: 'q', workflowId: 'root', input: 1 });
    expect(start).toHaveBeenCalledWith('catalogSync', { taskQueue: 'q', workflowId: 'root', args: [1] });
  });

  it('rejects an empty token without contacting the server', async () => {
    const { client, start } = fakeClient({ codecs: [await aesGcm()] });
    await expect(
      startParent(client, 'x', { taskQueue: 'q', workflowId: 'root', input: 1, apiToken: '' }),
    ).rejects.toThrow(/options\.apiToken must be a non-empty string/);
    expect(start).not.toHaveBeenCalled();
  });

  it('refuses to send a token through a client without an encrypting codec, naming what to configure', async () => {
    const { client, start } = fakeClient();
    const attempt = startParent(client, 'x', {
      taskQueue: 'q',
      workflowId: 'root',
      input: 1,
      apiToken: 'do-not-print',
    });
    await expect(attempt).rejects.toMatchObject({ code: 'apitoken.plaintext_refused' });
    await expect(attempt).rejects.toThrow(/AesGcmPayloadCodec.*TOKENRELAY_CODEC_KEYS.*allowPlaintextToken/s);
    await expect(attempt).rejects.not.toThrow(/do-not-print/);
    expect(start).not.toHaveBeenCalled();
  });

  it('sends it in plain text when told to, without passing the option on to Temporal', async () => {
    const { client, start } = fakeClient();
    await startParent(client, 'x', {
      taskQueue: 'q',
      workflowId: 'root',
      input: 1,
      apiToken: 'tok',
      allowPlaintextToken: true,
    });
    expect(start).toHaveBeenCalledWith('x', {
      taskQueue: 'q',
      workflowId: 'root',
      args: [1, { apiToken: { token: 'tok', version: 1 } }],
    });
  });
});

describe('rotateApiToken', () => {
  it('sends the raw token with the apiToken signal, through a handle or a client and workflow id', async () => {
    const { client, handle, raw, getHandle } = fakeClient({ codecs: [await aesGcm()] });
    await rotateApiToken(handle, 'new-token');
    await rotateApiToken(client, 'wf-2', 'newer-token');
    expect(getHandle).toHaveBeenCalledWith('wf-2');
    expect(raw.signal.mock.calls).toEqual([
      [expect.objectContaining({ name: 'apiToken', type: 'signal' }), 'new-token'],
      [expect.objectContaining({ name: 'apiToken', type: 'signal' }), 'newer-token'],
    ]);
  });

  it('refuses a non-string token with a message that does not echo the value', async () => {
    const { handle } = fakeClient({ codecs: [await aesGcm()] });
    const attempt = rotateApiToken(handle, { token: 'do-not-print' } as unknown as string);
    await expect(attempt).rejects.toThrow(TypeError);
    await expect(attempt).rejects.not.toThrow(/do-not-print/);
  });

  it('refuses a JWT whose exp passed, naming the expiry and never the token; sends nothing', async () => {
    const { handle, raw } = fakeClient({ codecs: [await aesGcm()] });
    const exp = Math.floor(Date.now() / 1000) - 60;
    const expired = jwt({ sub: 'api', exp });
    const attempt = rotateApiToken(handle, expired);
    await expect(attempt).rejects.toBeInstanceOf(ApiTokenGuardError);
    await expect(attempt).rejects.toMatchObject({ code: 'apitoken.expired' });
    await expect(attempt).rejects.toThrow(new Date(exp * 1000).toISOString());
    await expect(attempt).rejects.not.toThrow(expired.split('.')[1]!);
    expect(raw.signal).not.toHaveBeenCalled();
  });

  it('sends a JWT that is still valid, and an opaque token', async () => {
    const { handle, raw } = fakeClient({ codecs: [await aesGcm()] });
    await rotateApiToken(handle, jwt({ exp: Math.floor(Date.now() / 1000) + 300 }));
    await rotateApiToken(handle, 'opaque.token-value.with-dots!');
    await rotateApiToken(handle, 'plainopaque');
    expect(raw.signal).toHaveBeenCalledTimes(3);
  });

  it('refuses plain text unless allowed', async () => {
    const { handle, raw } = fakeClient();
    await expect(rotateApiToken(handle, 'tok')).rejects.toMatchObject({ code: 'apitoken.plaintext_refused' });
    expect(raw.signal).not.toHaveBeenCalled();
    await rotateApiToken(handle, 'tok', { allowPlaintextToken: true });
    expect(raw.signal).toHaveBeenCalledTimes(1);
  });

  it('warns, then sends, when apiTokenInfo names a parent', async () => {
    const { handle, raw } = fakeClient({
      codecs: [await aesGcm()],
      info: { version: 3, parentWorkflowId: 'root' },
    });
    const onWarning = vi.fn();
    await rotateApiToken(handle, 'tok', { onWarning });
    expect(onWarning).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'apitoken.not_root', workflowId: 'wf-1', parentWorkflowId: 'root' }),
    );
    expect(raw.signal).toHaveBeenCalledTimes(1);
    expect(raw.describe).not.toHaveBeenCalled();
  });

  it('asks the server for the parent execution when the query is not answered', async () => {
    const { handle, raw } = fakeClient({
      codecs: [await aesGcm()],
      info: new Error('no worker'),
      describedParent: 'the-parent',
    });
    const onWarning = vi.fn();
    await rotateApiToken(handle, 'tok', { onWarning });
    expect(raw.describe).toHaveBeenCalledTimes(1);
    expect(onWarning).toHaveBeenCalledWith(expect.objectContaining({ parentWorkflowId: 'the-parent' }));
    expect(raw.signal).toHaveBeenCalledTimes(1);
  });

  it('falls back to the server for a release that does not report parentWorkflowId', async () => {
    const { handle, raw } = fakeClient({ codecs: [await aesGcm()], info: { version: 3 } });
    const onWarning = vi.fn();
    await rotateApiToken(handle, 'tok', { onWarning });
    expect(raw.describe).toHaveBeenCalledTimes(1);
    expect(onWarning).not.toHaveBeenCalled();
  });

  it("refuses a non-root with notRoot: 'refuse', and skips the check with 'ignore'", async () => {
    const { handle, raw } = fakeClient({
      codecs: [await aesGcm()],
      info: { version: 3, parentWorkflowId: 'root' },
    });
    await expect(rotateApiToken(handle, 'tok', { notRoot: 'refuse' })).rejects.toMatchObject({
      code: 'apitoken.not_root',
    });
    expect(raw.signal).not.toHaveBeenCalled();
    await rotateApiToken(handle, 'tok', { notRoot: 'ignore' });
    expect(raw.query).toHaveBeenCalledTimes(1);
    expect(raw.signal).toHaveBeenCalledTimes(1);
  });

  it('does not warn for a root', async () => {
    const { handle } = fakeClient({ codecs: [await aesGcm()] });
    const onWarning = vi.fn();
    await rotateApiToken(handle, 'tok', { onWarning });
    expect(onWarning).not.toHaveBeenCalled();
  });
});

describe('getApiToken / getApiTokenInfo', () => {
  it('use the apiToken and apiTokenInfo queries', async () => {
    const { client, handle } = fakeClient();
    await expect(getApiToken(handle)).resolves.toBe('tok');
    await expect(getApiTokenInfo(client, 'wf-1')).resolves.toEqual({ version: 3, parentWorkflowId: null });
  });
});

/** A codec that relabels payloads and transforms their bytes with `f`, encrypting nothing. */
function transforming(encoding: string, f: (data: Buffer) => Buffer): PayloadCodec {
  return {
    async encode(payloads: Payload[]) {
      return payloads.map((p) => ({
        metadata: { encoding: Buffer.from(encoding) },
        data: f(Buffer.from(p.data ?? [])),
      }));
    },
    async decode(payloads: Payload[]) {
      return payloads;
    },
  };
}

describe('the plaintext guard', () => {
  it('counts AesGcmPayloadCodec as encrypting, alone or after compression', async () => {
    const aes = await aesGcm();
    await expect(probePayloadCodecs([aes])).resolves.toEqual({
      encrypts: true,
      codecs: ['AesGcmPayloadCodec'],
    });
    const zip = transforming('binary/zlib', (d) => deflateRawSync(d));
    await expect(probePayloadCodecs([zip, aes])).resolves.toMatchObject({ encrypts: true });
  });

  it('does not count no codec, compression, base64, hex or a relabel-only codec', async () => {
    const cases: PayloadCodec[][] = [
      [],
      [transforming('binary/zlib', (d) => deflateRawSync(d))],
      [transforming('binary/base64', (d) => Buffer.from(d.toString('base64')))],
      [transforming('binary/hex', (d) => Buffer.from(d.toString('hex')))],
      [transforming('binary/plain', () => randomBytes(80))],
      [transforming('binary/reversed', (d) => Buffer.from(d).reverse().reverse())],
    ];
    for (const codecs of cases) {
      await expect(probePayloadCodecs(codecs), `codecs ${codecs.length}`).resolves.toMatchObject({
        encrypts: false,
      });
    }
  });

  it('does not count a codec that fails, and says so', async () => {
    const broken: PayloadCodec = {
      encode: async () => {
        throw new Error('codec server down');
      },
      decode: async (p) => p,
    };
    await expect(probePayloadCodecs([broken])).resolves.toMatchObject({
      encrypts: false,
      reason: expect.stringMatching(/codec server down/),
    });
  });

  it('never counts a compress-only codec as encrypting, whatever the random probe (regression)', async () => {
    // With a 64-byte probe deflate bit-shifted it out of sight for ~3 in 10,000 probes; 10,000 fresh
    // probes catch that more than 9 times in 10.
    const gzip = transforming('binary/gzip', (d) => deflateRawSync(d));
    let passed = 0;
    for (let i = 0; i < 10_000; i++) if ((await probePayloadCodecs([gzip])).encrypts) passed++;
    expect(passed).toBe(0);
  });

  it('names the codecs it found in the refusal', async () => {
    class GzipCodec implements PayloadCodec {
      async encode(payloads: Payload[]) {
        return transforming('binary/gzip', (d) => deflateRawSync(d)).encode(payloads);
      }
      async decode(payloads: Payload[]) {
        return payloads;
      }
    }
    const client = { options: { loadedDataConverter: { payloadCodecs: [new GzipCodec()] } } };
    await expect(assertTokenEncrypted(client, 'startParent')).rejects.toThrow(
      /startParent: .*payload codecs \[GzipCodec\].*do not encrypt/,
    );
    await expect(
      assertTokenEncrypted(client, 'startParent', { allowPlaintextToken: true }),
    ).resolves.toBeUndefined();
  });
});

describe('assertTokenNotExpired', () => {
  const now = Date.UTC(2026, 0, 1);
  it('refuses exp at or before now, passes exp after now, opaque tokens and JWTs without exp', () => {
    expect(() => assertTokenNotExpired(jwt({ exp: now / 1000 }), 'x', now)).toThrow(
      /expired at 2026-01-01T00:00:00.000Z/,
    );
    expect(() => assertTokenNotExpired(jwt({ exp: now / 1000 + 1 }), 'x', now)).not.toThrow();
    expect(() => assertTokenNotExpired(jwt({ sub: 'no-exp' }), 'x', now)).not.toThrow();
    expect(() => assertTokenNotExpired(jwt({ exp: 'soon' }), 'x', now)).not.toThrow();
    expect(() => assertTokenNotExpired('a.b.c', 'x', now)).not.toThrow();
    expect(() => assertTokenNotExpired('opaque-token', 'x', now)).not.toThrow();
  });
});
