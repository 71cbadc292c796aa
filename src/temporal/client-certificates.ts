// Certificate rotation for client connections. A Temporal `Connection` builds its gRPC channel once,
// with the TLS material it was given, and every service stub holds on to that channel; so instead of
// replacing the Connection (which every Client built on it would have to learn about), the channel
// underneath it is one that can be swapped: new calls go to a channel made with the new files, calls
// in flight finish on the old one. The same FileChangeWatcher as the worker's decides when to look.
import {
  type ChannelInterface as Channel,
  type ChannelOptions,
  Channel as GrpcChannel,
  status as GrpcStatus,
  credentials as grpcCredentials,
  Metadata,
  makeGenericClientConstructor,
} from '@grpc/grpc-js';
import type { TLSConfig } from '@temporalio/client';
import { FileChangeWatcher } from './file-change-watcher.js';
import { loadTlsConfig, type TlsOptions } from './tls.js';

/** What the client certificate watch reports; see `ConnectClientOptions`. */
export interface ClientCertificateEvents {
  onCertificatesReloaded?: (() => void) | undefined;
  onCertificateReloadFailed?: ((error: Error) => void) | undefined;
}

/**
 * A gRPC channel that delegates to the channel made with the newest certificates. `swap()` makes the
 * next calls use a new channel and closes the previous one, which only stops it from taking new calls:
 * gRPC lets calls already started on it run to completion.
 */
export class SwappableChannel implements Channel {
  #current: Channel;
  #closed = false;
  readonly #onClose: () => void;

  constructor(first: Channel, onClose: () => void) {
    this.#current = first;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  swap(next: Channel): void {
    if (this.#closed) {
      next.close();
      return;
    }
    const previous = this.#current;
    this.#current = next;
    previous.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#current.close();
    this.#onClose();
  }

  getTarget(): string {
    return this.#current.getTarget();
  }

  getConnectivityState(tryToConnect: boolean) {
    return this.#current.getConnectivityState(tryToConnect);
  }

  watchConnectivityState(...args: Parameters<Channel['watchConnectivityState']>): void {
    this.#current.watchConnectivityState(...args);
  }

  getChannelzRef() {
    return this.#current.getChannelzRef();
  }

  createCall(...args: Parameters<Channel['createCall']>) {
    return this.#current.createCall(...args);
  }
}

export interface ClientCertificateWatchOptions extends ClientCertificateEvents {
  /** The files to re-read (paths are re-read; inline PEM never changes). */
  tls: TlsOptions;
  /** How often to look at the files; `false`: only on `reload()`. */
  intervalMs: number | false;
  /** A token for the probe call that checks a new channel before it takes over. */
  token: () => string | undefined;
  /** Turns a failed probe into an error that names the cause (see connectError). */
  describeFailure: (err: unknown, tls: TLSConfig) => Promise<Error>;
}

/**
 * Owns the swappable channel of one client connection: hands Temporal's `Connection` a channel
 * factory, watches the TLS files, and on a change builds a channel with the new material, checks it
 * completes a call, and swaps it in. A replacement that cannot be used (a certificate without its key,
 * a CA the server does not trust) is reported and the connection keeps its current channel.
 */
export class ClientCertificateWatch {
  readonly #options: ClientCertificateWatchOptions;
  readonly #watcher: FileChangeWatcher | undefined;
  #channel: SwappableChannel | undefined;
  #target: string | undefined;
  #channelOptions: ChannelOptions = {};
  #reloading: Promise<void> = Promise.resolve();

  constructor(options: ClientCertificateWatchOptions) {
    this.#options = options;
    const paths = [options.tls.clientCertPath, options.tls.clientKeyPath, options.tls.caCertPath].filter(
      (p): p is string => p !== undefined,
    );
    if (options.intervalMs !== false && paths.length > 0) {
      this.#watcher = new FileChangeWatcher({
        paths,
        intervalMs: options.intervalMs,
        onChange: () => this.reload().catch(() => {}),
      });
    }
  }

  /**
   * `channelArgs` for `Connection.connect`: gRPC calls the factory once, with the normalised address
   * and options (keepalive, server name override); the first channel uses the material already loaded.
   */
  channelArgs(first: TLSConfig): ChannelOptions {
    const channelFactoryOverride = (target: string, _credentials: unknown, options: ChannelOptions) => {
      this.#target = target;
      this.#channelOptions = options ?? {};
      this.#channel = new SwappableChannel(this.#newChannel(first), () => this.#watcher?.stop());
      return this.#channel;
    };
    return { channelFactoryOverride };
  }

  /** Starts watching the files (after the first connect succeeded). */
  async start(): Promise<void> {
    if (this.#channel?.closed) return;
    await this.#watcher?.start();
  }

  /** Stops watching; the connection's close() does this too. */
  stop(): void {
    this.#watcher?.stop();
  }

  /**
   * Re-reads the files, connects a channel with them, and once a call on it has gone through, moves
   * the connection's new calls to it. One reload at a time; a failure leaves the current channel.
   */
  reload(): Promise<void> {
    const run = async () => {
      const channel = this.#channel;
      if (!channel || channel.closed || this.#target === undefined) return;
      let next: Channel | undefined;
      let tls: TLSConfig | undefined;
      try {
        tls = await loadTlsConfig(this.#options.tls);
        next = this.#newChannel(tls);
        await probe(next, this.#options.token());
      } catch (err) {
        next?.close();
        const error = tls ? await this.#options.describeFailure(err, tls) : (err as Error);
        this.#options.onCertificateReloadFailed?.(error);
        throw error;
      }
      if (channel.closed) {
        next.close();
        return;
      }
      channel.swap(next);
      this.#options.onCertificatesReloaded?.();
    };
    const result = this.#reloading.then(run, run);
    this.#reloading = result.catch(() => {});
    return result;
  }

  #newChannel(tls: TLSConfig): Channel {
    const ca = tls.serverRootCACertificate ? Buffer.from(tls.serverRootCACertificate) : null;
    const pair = tls.clientCertPair;
    const creds = grpcCredentials.createSsl(
      ca,
      pair ? Buffer.from(pair.key) : null,
      pair ? Buffer.from(pair.crt) : null,
    );
    return new GrpcChannel(this.#target as string, creds, this.#channelOptions);
  }
}

const ProbeClient = makeGenericClientConstructor({}, 'WorkflowService', {});
const PROBE_TIMEOUT_MS = 10_000;

/**
 * One GetSystemInfo call on `channel`. Any answer from the server proves the TLS handshake with the
 * new material worked — a refusal of the token too, since that comes from behind TLS; only a transport
 * failure (UNAVAILABLE: handshake refused, server unreachable) or no answer at all fails the probe.
 */
function probe(channel: Channel, token: string | undefined): Promise<void> {
  const client = new ProbeClient(channel.getTarget(), grpcCredentials.createInsecure(), {
    channelOverride: channel,
  });
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return new Promise<void>((resolve, reject) => {
    client.makeUnaryRequest(
      '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      (arg: Buffer) => arg,
      (arg: Buffer) => arg,
      Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + PROBE_TIMEOUT_MS },
      (err) => {
        if (!err || (err.code !== GrpcStatus.UNAVAILABLE && err.code !== GrpcStatus.DEADLINE_EXCEEDED)) {
          resolve();
          return;
        }
        reject(new Error(`the new certificate files were refused: ${err.details || err.message}`));
      },
    );
  });
}
