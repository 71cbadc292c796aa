// Measurement 1: what attaching the token costs per call. Two views of the same question:
//  - chain: grpc-js interceptor chains driven in-process against a terminal call that answers at once,
//    so the only difference between the two sides is the interceptor code itself (ns resolution);
//  - loopback: real unary calls to a grpc-js echo server on 127.0.0.1, to show that cost next to a
//    real round trip.
// Both compare Temporal's retry interceptor alone (what a Connection without auth runs) against
// authInterceptors (retry + bearer token), with a third side that sets the same header without any
// tokenrelay code in between, which splits the cost into the header's and our interceptor's; and they
// count the token-endpoint requests made meanwhile.
import {
  type CallOptions,
  credentials,
  Client as GrpcClient,
  type handleUnaryCall,
  InterceptingCall,
  type Interceptor,
  type InterceptorOptions,
  Metadata,
  type NextCall,
  Server,
  ServerCredentials,
  status,
} from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { DevConfig } from '../../src/devstack/dev-config.js';
import { authInterceptors } from '../../src/temporal/auth-interceptors.js';
import { countingToken } from './counting-token.js';
import { BenchError } from './errors.js';
import { median, msSince, round } from './stats.js';

export interface HotPathOptions {
  /** Calls through the auth chain after warm-up (the baseline makes as many). */
  chainCalls: number;
  /** Calls over loopback per side after warm-up; the figure is the median per-call latency. */
  loopbackCalls: number;
  /** Interleaved rounds per side: each side's figure is the median round, which damps noise. */
  rounds: number;
}

/** One view: ns per call on each side, the auth side's cost over the baseline, and their ratio. */
export interface HotPathView {
  calls: number;
  /** Retry interceptor + tokenrelay's bearer interceptor (authInterceptors). */
  authNsPerOp: number;
  /** Retry interceptor + a fixed `authorization` header of the same token: the header alone. */
  headerOnlyNsPerOp: number;
  /** Retry interceptor only: what a Temporal connection without auth runs. */
  baselineNsPerOp: number;
  addedNsPerOp: number;
  ratio: number;
}

export interface HotPathResult {
  chain: HotPathView;
  loopback: HotPathView;
  /** Token-endpoint requests during every measured call of both views (after the first fetch). */
  tokenRequests: number;
}

type SideName = 'auth' | 'headerOnly' | 'baseline';
const sideNames: SideName[] = ['baseline', 'headerOnly', 'auth'];

const method = '/tokenrelay.bench.Echo/Echo';
const passThrough = (value: Buffer): Buffer => value;

export async function measureHotPath(config: DevConfig, options: HotPathOptions): Promise<HotPathResult> {
  const { token, requests } = countingToken(config);
  try {
    const value = await token.get();
    const warmRequests = requests();
    const retry = makeGrpcRetryInterceptor(defaultGrpcRetryOptions());
    const sides: Record<SideName, Interceptor[]> = {
      auth: authInterceptors({ token }),
      headerOnly: [retry, fixedHeader(`Bearer ${value}`)],
      baseline: [retry],
    };

    const perRound = Math.max(1, Math.floor(options.chainCalls / options.rounds));
    // Enough calls for V8 to optimise every chain before anything is timed, whatever the run size.
    for (const name of sideNames) runChain(sides[name], 20_000);
    const chain = await interleave(options.rounds, (name) => runChain(sides[name], perRound));

    const loopback = await withEchoServer(async (address) => {
      const clients = {} as Record<SideName, GrpcClient>;
      for (const name of sideNames) {
        clients[name] = new GrpcClient(address, credentials.createInsecure(), { interceptors: sides[name] });
      }
      try {
        for (const name of sideNames) await echoCalls(clients[name], 1_000);
        // A round trip is ~1,000 times the difference looked for, so the sides take turns call by call
        // and the median per-call latency keeps GC pauses and a neighbour's bursts out of the figure.
        return await interleave(options.loopbackCalls, (name) => echoCalls(clients[name], 1));
      } finally {
        for (const name of sideNames) clients[name].close();
      }
    });
    return {
      chain: view(chain, perRound * options.rounds),
      loopback: view(loopback, options.loopbackCalls),
      tokenRequests: requests() - warmRequests,
    };
  } finally {
    token.stop();
  }
}

/**
 * Runs `measure` for every side `rounds` times, rotating which side goes first so a drift (GC debt,
 * a neighbour's load) does not always land on the same one; returns each side's median.
 */
async function interleave(
  rounds: number,
  measure: (side: SideName) => number | Promise<number>,
): Promise<Record<SideName, number>> {
  const samples: Record<SideName, number[]> = { auth: [], headerOnly: [], baseline: [] };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < sideNames.length; i++) {
      const name = sideNames[(r + i) % sideNames.length] as SideName;
      samples[name].push(await measure(name));
    }
  }
  return {
    auth: median(samples.auth),
    headerOnly: median(samples.headerOnly),
    baseline: median(samples.baseline),
  };
}

function view(ns: Record<SideName, number>, calls: number): HotPathView {
  return {
    calls,
    authNsPerOp: round(ns.auth),
    headerOnlyNsPerOp: round(ns.headerOnly),
    baselineNsPerOp: round(ns.baseline),
    addedNsPerOp: round(ns.auth - ns.baseline),
    ratio: round(ns.auth / ns.baseline, 3),
  };
}

/** Sets the same header on every call: the wire and grpc-js cost of the header, no token logic. */
function fixedHeader(value: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
}

/** Makes `calls` unary calls through `interceptors` down to a terminal that answers at once; ns/op. */
function runChain(interceptors: Interceptor[], calls: number): number {
  const request = Buffer.from('ping');
  const response = Buffer.from('pong');
  let ok = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const call = chainCall(interceptors, response);
    call.start(new Metadata(), {
      onReceiveMessage() {},
      onReceiveStatus(s) {
        if (s.code === status.OK) ok++;
      },
    });
    call.sendMessage(request);
    call.halfClose();
  }
  const ns = Number(process.hrtime.bigint() - started) / calls;
  if (ok !== calls) {
    throw new BenchError('bench.unexpected_response', `interceptor chain completed ${ok} of ${calls} calls`);
  }
  return ns;
}

/** The call grpc-js would build for `interceptors` (same composition), with a terminal that echoes `response`. */
function chainCall(interceptors: Interceptor[], response: Buffer): ReturnType<NextCall> {
  const terminal: NextCall = () => {
    let listener: Parameters<ReturnType<NextCall>['start']>[1];
    return {
      cancelWithStatus() {},
      getPeer: () => 'bench',
      start(_metadata, l) {
        listener = l;
      },
      sendMessageWithContext() {},
      sendMessage() {},
      startRead() {},
      halfClose() {
        listener?.onReceiveMetadata?.(new Metadata());
        listener?.onReceiveMessage?.(response);
        listener?.onReceiveStatus?.({ code: status.OK, details: '', metadata: new Metadata() });
      },
      getAuthContext: () => null,
    };
  };
  const next = interceptors.reduceRight<NextCall>(
    (inner, interceptor) => (opts) => interceptor(opts, inner),
    terminal,
  );
  const options = {
    method_definition: {
      path: method,
      requestStream: false,
      responseStream: false,
      requestSerialize: passThrough,
      responseDeserialize: passThrough,
    },
  } as InterceptorOptions;
  return next(options);
}

/** Runs `fn` against a grpc-js echo server on 127.0.0.1 (no TLS), then shuts the server down. */
async function withEchoServer<T>(fn: (address: string) => Promise<T>): Promise<T> {
  const server = new Server();
  const echo: handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);
  server.register(method, echo, passThrough, passThrough, 'unary');
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  try {
    return await fn(`127.0.0.1:${port}`);
  } finally {
    server.forceShutdown();
  }
}

/** `calls` sequential echo calls; ns per call. */
async function echoCalls(client: GrpcClient, calls: number): Promise<number> {
  const payload = Buffer.from('ping');
  const callOptions: CallOptions = {};
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    await new Promise<void>((resolve, reject) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        method,
        passThrough,
        passThrough,
        payload,
        callOptions,
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  return (msSince(started) * 1e6) / calls;
}
