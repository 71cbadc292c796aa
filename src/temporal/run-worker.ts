import { EventEmitter } from 'node:events';
import type { Logger, PayloadCodec } from '@temporalio/common';
import { type NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { codecFromEnv } from '../codec/codec-keys.js';
import { statefulWorkflowActivities } from '../stateful/handoff-relay.js';
import { sleep } from '../util/poll.js';
import { type ConnectOptions, connectWorker } from './connect.js';
import { FileChangeWatcher } from './file-change-watcher.js';
import { resolveConnectionSettings } from './settings.js';

export interface RunWorkerOptions extends ConnectOptions {
  /** Everything `Worker.create` takes except the connection and namespace, which come from here. */
  worker: Omit<WorkerOptions, 'connection' | 'namespace'>;
  /**
   * How often to check the client certificate, key and CA files for a replacement; on a change a new
   * connection is built and swapped into the running worker. `false` turns watching off (call
   * `reloadCertificates()` yourself). Default 5000 ms; only file paths can be watched.
   */
  certificateCheckIntervalMs?: number | false;
  /** Delay before the first restart after the worker stopped on an error. Default 1000 ms. */
  restartInitialDelayMs?: number;
  /** Longest delay between restarts. Default 30000 ms. */
  restartMaxDelayMs?: number;
  /** Signals that shut the worker down gracefully. Default `['SIGINT', 'SIGTERM']`; `[]` for none. */
  shutdownSignals?: NodeJS.Signals[];
  /**
   * Encrypts payloads (signals, inputs, results) so tokens never sit in history in plain text.
   * Default: a codec from `TOKENRELAY_CODEC_KEYS` when that is set; `false` for none. Give either this
   * or `worker.dataConverter.payloadCodecs`, not both.
   */
  codec?: PayloadCodec | false;
  /** Where supervision is logged. Default: the Temporal Runtime's logger. */
  logger?: Logger;
}

export interface WorkerFailedEvent {
  error: Error;
  /** The server kept refusing the worker's token. */
  authorization: boolean;
  /** The number this restart will have once it succeeds (1 for the first). */
  restart: number;
  restartInMs: number;
}

interface SupervisedWorkerEvents {
  workerFailed: [WorkerFailedEvent];
  workerRestarted: [{ restart: number }];
  certificatesReloaded: [{ connection: NativeConnection }];
  certificateReloadFailed: [{ error: Error }];
}

/**
 * A worker that keeps running through what would otherwise end it. The worker's core gives up after
 * about a minute of refused polls (an issuer outage longer than the token lifetime) and shuts the
 * worker down; here it is started again — on a new connection, once a valid token is in hand — so a
 * long outage pauses work instead of ending the process. Replaced certificate files are swapped into
 * the running worker without losing a task. Created by {@link startWorker}.
 */
export class SupervisedWorker extends EventEmitter<SupervisedWorkerEvents> {
  /** Settles when the worker has shut down for good (signal or `shutdown()`). */
  readonly done: Promise<void>;
  private current: Worker;
  private restartCount = 0;
  private stopping = false;
  /** Aborted by shutdown(), so a restart backoff in progress ends at once. */
  private readonly stopped = new AbortController();
  private reloading: Promise<void> = Promise.resolve();
  private readonly watcher: FileChangeWatcher | undefined;
  private readonly onSignal = () => void this.shutdown();

  /** @internal Use {@link startWorker}. */
  constructor(
    private readonly options: RunWorkerOptions,
    private readonly namespace: string,
    first: Worker,
    private readonly logger: Logger,
    certificatePaths: string[],
  ) {
    super();
    this.current = first;
    const interval = options.certificateCheckIntervalMs ?? 5_000;
    if (interval !== false && certificatePaths.length > 0) {
      this.watcher = new FileChangeWatcher({
        paths: certificatePaths,
        intervalMs: interval,
        onChange: () => this.reloadCertificates().catch(() => {}),
      });
    }
    for (const signal of options.shutdownSignals ?? ['SIGINT', 'SIGTERM']) process.on(signal, this.onSignal);
    this.done = this.supervise().finally(() => this.cleanup());
  }

  /** The worker running now; a new one after every restart. */
  get worker(): Worker {
    return this.current;
  }

  /** The connection the current worker uses; a new one after every restart or certificate swap. */
  get connection(): NativeConnection {
    return this.current.connection as NativeConnection;
  }

  /** How many times the worker was started again after failing. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Starts watching certificate files (if configured). @internal */
  async watch(): Promise<void> {
    await this.watcher?.start();
  }

  /**
   * Re-reads the TLS files, connects with them, and swaps the new connection into the running worker;
   * the old one is closed. On failure the worker keeps its current connection and the error is
   * emitted as 'certificateReloadFailed' and thrown.
   */
  reloadCertificates(): Promise<void> {
    const run = async () => {
      if (this.stopping) return;
      const worker = this.current;
      const previous = this.connection;
      let next: NativeConnection;
      try {
        next = await connectWorker(this.options);
      } catch (err) {
        const error = err as Error;
        this.logger.warn('tokenrelay: certificate reload failed; keeping the current connection', {
          error: error.message,
        });
        this.emit('certificateReloadFailed', { error });
        throw error;
      }
      // Stopping, restarted meanwhile, or failed (a restart will read the new files anyway).
      if (this.stopping || worker !== this.current || worker.getState() !== 'RUNNING') {
        await next.close();
        return;
      }
      worker.connection = next;
      await previous.close().catch(() => {
        // Already closed or still referenced by a worker winding down: nothing to free here.
      });
      this.logger.info('tokenrelay: worker switched to a connection with the reloaded certificates');
      this.emit('certificatesReloaded', { connection: next });
    };
    const result = this.reloading.then(run, run);
    this.reloading = result.catch(() => {});
    return result;
  }

  /** Shuts the worker down gracefully (in-flight tasks finish within the worker's grace time). */
  async shutdown(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopped.abort();
      if (this.current.getState() === 'RUNNING') this.current.shutdown();
    }
    await this.done;
  }

  private async supervise(): Promise<void> {
    const initialDelay = this.options.restartInitialDelayMs ?? 1_000;
    const maxDelay = this.options.restartMaxDelayMs ?? 30_000;
    for (;;) {
      const failure = await runUntilFailed(this.current);
      if (failure === undefined || this.stopping) return;
      const authorization = isAuthorizationFailure(failure) || !this.options.token.state.valid;
      this.logger.warn(
        authorization
          ? 'tokenrelay: worker stopped because the server kept refusing its token; restarting once a valid token is available'
          : 'tokenrelay: worker stopped on an error; restarting',
        { error: failure.message, restartInMs: initialDelay },
      );
      this.emit('workerFailed', {
        error: failure,
        authorization,
        restart: this.restartCount + 1,
        restartInMs: initialDelay,
      });
      // Each failure starts its own backoff: a worker that ran well for a day restarts promptly.
      let delay = initialDelay;
      for (;;) {
        await sleep(delay, this.stopped.signal);
        if (this.stopping) return;
        const next = await this.recreate(Math.min(maxDelay, delay * 2));
        if (this.stopping) {
          await next?.connection?.close().catch(() => {});
          return;
        }
        if (next) {
          this.current = next;
          this.restartCount += 1;
          this.logger.info('tokenrelay: worker started again', { restart: this.restartCount });
          this.emit('workerRestarted', { restart: this.restartCount });
          break;
        }
        delay = Math.min(maxDelay, delay * 2);
      }
    }
  }

  /** A new worker on a new connection, or undefined when no token or connection can be had yet. */
  private async recreate(nextTryInMs: number): Promise<Worker | undefined> {
    const stale = this.current.connection;
    try {
      await this.options.token.get();
    } catch (err) {
      this.logger.warn('tokenrelay: still no valid token; will retry', {
        error: (err as Error).message,
        retryInMs: nextTryInMs,
      });
      return undefined;
    }
    await stale?.close().catch(() => {});
    let connection: NativeConnection | undefined;
    try {
      connection = await connectWorker(this.options);
      return await Worker.create({ ...this.options.worker, connection, namespace: this.namespace });
    } catch (err) {
      await connection?.close().catch(() => {});
      this.logger.warn('tokenrelay: could not start the worker again; will retry', {
        error: (err as Error).message,
        retryInMs: nextTryInMs,
      });
      return undefined;
    }
  }

  private async cleanup(): Promise<void> {
    this.watcher?.stop();
    for (const signal of this.options.shutdownSignals ?? ['SIGINT', 'SIGTERM'])
      process.off(signal, this.onSignal);
    await this.reloading;
    await this.current.connection?.close().catch(() => {});
  }
}

/**
 * Connects (mTLS + token), creates the worker and starts running it under supervision. Resolves once
 * the worker is running; configuration errors and a first connect that fails are thrown here, so a
 * misconfigured worker fails fast instead of retrying forever.
 *
 * @example
 * const supervised = await startWorker({ address, tls: { caCertPath, clientCertPath, clientKeyPath }, token,
 *   worker: { taskQueue: 'orders', workflowsPath: require.resolve('./workflows'), activities } });
 * await supervised.done;
 */
export async function startWorker(options: RunWorkerOptions): Promise<SupervisedWorker> {
  const settings = resolveConnectionSettings(options, 'startWorker');
  validateRunOptions(options);
  options = { ...options, worker: withStatefulActivities(await withCodec(options)) };
  const connection = await connectWorker(options);
  let first: Worker;
  try {
    first = await Worker.create({ ...options.worker, connection, namespace: settings.namespace });
  } catch (err) {
    await connection.close().catch(() => {});
    throw err;
  }
  const paths = [settings.tls.clientCertPath, settings.tls.clientKeyPath, settings.tls.caCertPath].filter(
    (p): p is string => p !== undefined,
  );
  const supervised = new SupervisedWorker(
    options,
    settings.namespace,
    first,
    options.logger ?? Runtime.instance().logger,
    paths,
  );
  await supervised.watch();
  return supervised;
}

/** {@link startWorker}, then waits until the worker has shut down for good. */
export async function runWorker(options: RunWorkerOptions): Promise<void> {
  await (await startWorker(options)).done;
}

/**
 * Registers tokenrelay's own activities (the handoff relay) beside the worker's; the worker's win a
 * name clash, so an application can replace one.
 */
function withStatefulActivities(worker: RunWorkerOptions['worker']): RunWorkerOptions['worker'] {
  return { ...worker, activities: { ...statefulWorkflowActivities, ...worker.activities } };
}

async function withCodec(options: RunWorkerOptions): Promise<RunWorkerOptions['worker']> {
  const configured = options.worker.dataConverter?.payloadCodecs;
  if (options.codec && configured) {
    throw new TypeError(
      'startWorker: give options.codec or options.worker.dataConverter.payloadCodecs, not both',
    );
  }
  if (configured || options.codec === false) return options.worker;
  const codec = options.codec ?? (await codecFromEnv());
  if (!codec) return options.worker;
  return { ...options.worker, dataConverter: { ...options.worker.dataConverter, payloadCodecs: [codec] } };
}

function validateRunOptions(options: RunWorkerOptions): void {
  if (!options.worker || typeof options.worker !== 'object') {
    throw new TypeError('startWorker: options.worker is required (taskQueue, workflowsPath, activities, …)');
  }
  const w = options.worker as Partial<WorkerOptions>;
  if (typeof w.taskQueue !== 'string' || w.taskQueue === '') {
    throw new TypeError('startWorker: options.worker.taskQueue is required');
  }
  if (w.connection !== undefined || w.namespace !== undefined) {
    throw new TypeError(
      'startWorker: set the connection settings and namespace on options, not options.worker (the supervisor owns the connection)',
    );
  }
  const interval = options.certificateCheckIntervalMs;
  if (interval !== undefined && interval !== false && !(interval > 0)) {
    throw new TypeError('startWorker: options.certificateCheckIntervalMs must be > 0 or false');
  }
  for (const name of ['restartInitialDelayMs', 'restartMaxDelayMs'] as const) {
    const v = options[name];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) {
      throw new TypeError(`startWorker: options.${name} must be a non-negative number`);
    }
  }
}

/**
 * Runs `worker` until it shuts down (undefined) or fails (the error). A failed worker is noticed by its
 * state as well as by `run()` rejecting: after the core gives up, the SDK's final clean-up can wait
 * indefinitely on a native reference (the worker heartbeat keeps one), so `run()` may never settle.
 */
async function runUntilFailed(worker: Worker): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const failedState = new Promise<Error>((resolve) => {
    timer = setInterval(() => {
      if (worker.getState() === 'FAILED') {
        resolve(new Error("the worker's core stopped the worker (see its 'Worker failed' log entry)"));
      }
    }, 500);
  });
  try {
    return await Promise.race([
      worker.run().then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      ),
      failedState,
    ]);
  } finally {
    clearInterval(timer);
  }
}

/**
 * Whether the error says the server refused the worker. Not always visible: when the core fails a
 * worker, finalizing it can throw "Worker still in use" over the original error, which is why the
 * caller also asks whether the token was valid at that moment.
 */
function isAuthorizationFailure(error: Error): boolean {
  const text = `${error.message} ${(error.cause as Error | undefined)?.message ?? ''}`;
  return /permission ?denied|unauthenticated|unauthorized/i.test(text);
}
