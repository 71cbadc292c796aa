import { describe, expect, it } from 'vitest';
import { RefreshingToken } from '../../../src/auth/refreshing-token.js';
import { connectClient, connectWorker } from '../../../src/temporal/connect.js';
import { type RunWorkerOptions, startWorker } from '../../../src/temporal/run-worker.js';

// Every check here runs before any connection is attempted: the address points nowhere.
const tls = { caCert: 'x' };
const token = new RefreshingToken({ source: async () => ({ token: 't', expiresAt: Date.now() + 60_000 }) });
const identityCodec = { encode: async <T>(p: T) => p, decode: async <T>(p: T) => p };
const base = { address: '127.0.0.1:1', tls, token, envConfig: false } as const;

describe('startWorker options', () => {
  it.each<[string, Partial<RunWorkerOptions>, RegExp]>([
    ['no worker options', { worker: undefined }, /options.worker is required/],
    ['no task queue', { worker: { taskQueue: '' } }, /options.worker.taskQueue is required/],
    [
      'a connection inside the worker options',
      { worker: { taskQueue: 'q', namespace: 'x' } as RunWorkerOptions['worker'] },
      /not options.worker/,
    ],
    [
      'a zero check interval',
      { certificateCheckIntervalMs: 0 },
      /certificateCheckIntervalMs must be > 0 or false/,
    ],
    [
      'a codec given twice',
      { codec: identityCodec, worker: { taskQueue: 'q', dataConverter: { payloadCodecs: [identityCodec] } } },
      /options.codec or options.worker.dataConverter.payloadCodecs, not both/,
    ],
    [
      'a negative restart delay',
      { restartInitialDelayMs: -1 },
      /restartInitialDelayMs must be a non-negative/,
    ],
  ])('rejects %s with a TypeError naming the option', async (_label, override, message) => {
    const options = { ...base, worker: { taskQueue: 'q' }, ...override } as RunWorkerOptions;
    await expect(startWorker(options)).rejects.toThrow(message);
  });
});

describe('connectWorker / connectClient options', () => {
  it('asks for a RefreshingToken, saying how to make one', async () => {
    const options = { ...base, token: 'a-raw-token' as unknown as RefreshingToken };
    await expect(connectWorker(options)).rejects.toThrow(
      /connectWorker: options.token must be a RefreshingToken/,
    );
    await expect(connectClient(options)).rejects.toThrow(/new RefreshingToken\(\{ source \}\)/);
  });

  it('names the function and the option for a bad address', async () => {
    await expect(connectClient({ ...base, address: 'localhost' })).rejects.toThrow(
      /connectClient: options.address must be "host:port"/,
    );
  });
});
