// A worker on the dev stack with a client beside it: one identity's refreshing token, the stack's
// mTLS files and payload codec, and a close that releases all of it in order. The reference worker and
// the rotation worker differ only in what they register; the plumbing (and its cleanup when start-up
// fails half way) lives here once.
import { Client, type Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { RefreshingToken } from '../auth/refreshing-token.js';
import { connectClient } from '../temporal/connect.js';
import type { SupervisedWorker } from '../temporal/run-worker.js';
import type { TlsOptions } from '../temporal/tls.js';
import { type DevAppName, type DevConfig, devCodec, devTls, devToken } from './dev-config.js';

/** What a dev worker is started with: the same identity and files for the worker and its client. */
export interface DevWorkerContext {
  address: string;
  namespace: string;
  tls: TlsOptions;
  token: RefreshingToken;
  codec: PayloadCodec;
  /** A client on the stack, with the codec, closed by {@link DevWorker.close}. */
  client: Client;
}

export interface DevWorker {
  supervised: SupervisedWorker;
  client: Client;
  /** Shuts the worker down, then closes the client's connection and stops the token. */
  close(): Promise<void>;
}

/**
 * Opens `app`'s token, the client connection and the codec, then `start`s the worker with them. If any
 * step fails, what was opened is closed before the error is rethrown.
 */
export async function startDevWorker(
  config: DevConfig,
  app: DevAppName,
  start: (context: DevWorkerContext) => Promise<SupervisedWorker>,
): Promise<DevWorker> {
  const token = devToken(config, app);
  let connection: Connection | undefined;
  try {
    const codec = await devCodec(config);
    const tls = devTls(config);
    const { address, namespace } = config.temporal;
    connection = await connectClient({ address, tls, token });
    const client = new Client({ connection, namespace, dataConverter: { payloadCodecs: [codec] } });
    const supervised = await start({ address, namespace, tls, token, codec, client });
    const open = connection;
    return {
      supervised,
      client,
      async close() {
        await supervised.shutdown();
        await open.close();
        token.stop();
      },
    };
  } catch (err) {
    await connection?.close();
    token.stop();
    throw err;
  }
}
