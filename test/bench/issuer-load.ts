// Measurement 5 (and the issuer half of 6): the running issuer's token endpoint at concurrency 64 over
// keep-alive connections, against how fast jose alone signs the same kind of ES256 JWT in this process.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { generateKeyPair, SignJWT } from 'jose';
import { Agent, Pool, request } from 'undici';
import { runningPid } from '../../src/devstack/daemon.js';
import type { DevConfig } from '../../src/devstack/dev-config.js';
import { devLayout } from '../../src/devstack/layout.js';
import { BenchError } from './errors.js';
import { mib, rssBytes, sampleRss } from './memory.js';
import { percentile, round, runFor } from './stats.js';

export interface IssuerLoadOptions {
  /** The dev stack's folder, to find the issuer's process. */
  root: string;
  concurrency: number;
  durationMs: number;
  warmupRequests: number;
}

export interface IssuerLoadResult {
  concurrency: number;
  requests: number;
  /** Requests answered with anything but 200; the figures only mean something when this is 0. */
  failures: number;
  tokensPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  joseSignsPerSecond: number;
  /** Issuer tokens/s over jose signatures/s: the share of the signing rate the HTTP service delivers. */
  ratio: number;
  rss: { idleMiB: number; peakMiB: number };
}

export async function measureIssuer(
  config: DevConfig,
  options: IssuerLoadOptions,
): Promise<IssuerLoadResult> {
  const pid = await runningPid(devLayout(options.root).issuerPidPath);
  if (pid === undefined)
    throw new BenchError('bench.server_failed', `no issuer is running under ${options.root}`);
  const { clientId, clientSecret } = config.apps.worker;
  const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(pair).toString('base64')}`,
  };
  const path = new URL(config.issuer.tokenUrl).pathname;
  const pool = new Pool(config.issuer.url, {
    connections: options.concurrency,
    keepAliveTimeout: 30_000,
    ...(await devCaConnect(config, config.issuer.url)),
  });
  let failures = 0;
  const requestToken = async () => {
    const res = await pool.request({ method: 'POST', path, headers, body: 'grant_type=client_credentials' });
    const body = await res.body.text();
    if (res.statusCode !== 200 || !body.includes('access_token')) failures++;
  };
  try {
    const idle = await rssBytes(pid);
    // Opens every connection and warms the issuer's JIT before anything is timed.
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, lane) => {
        for (let i = lane; i < options.warmupRequests; i += options.concurrency) await requestToken();
      }),
    );
    failures = 0;
    const sampler = sampleRss(pid);
    const load = await runFor(options.durationMs, options.concurrency, requestToken);
    const peak = await sampler.stop();
    const jose = await joseSigningRate(options.concurrency, options.durationMs);
    const tokensPerSecond = load.completed / (load.elapsedMs / 1000);
    return {
      concurrency: options.concurrency,
      requests: load.completed,
      failures,
      tokensPerSecond: round(tokensPerSecond),
      p50Ms: round(percentile(load.latenciesMs, 50), 2),
      p99Ms: round(percentile(load.latenciesMs, 99), 2),
      joseSignsPerSecond: round(jose),
      ratio: round(tokensPerSecond / jose, 3),
      rss: { idleMiB: mib(idle), peakMiB: mib(peak) },
    };
  } finally {
    await pool.close();
  }
}

/** ES256 signatures per second by jose with the issuer's claim set, `concurrency` in flight. */
async function joseSigningRate(concurrency: number, durationMs: number): Promise<number> {
  const { privateKey } = await generateKeyPair('ES256');
  const nowSeconds = Math.floor(Date.now() / 1000);
  const sign = async () => {
    await new SignJWT({ permissions: ['default:write'], scope: 'default:write' })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'JWT' })
      .setIssuer('http://127.0.0.1')
      .setSubject('worker')
      .setAudience('tokenrelay-dev')
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + 600)
      .setJti(randomUUID())
      .sign(privateKey);
  };
  await runFor(Math.min(500, durationMs / 4), concurrency, sign);
  const run = await runFor(durationMs, concurrency, sign);
  return run.completed / (run.elapsedMs / 1000);
}

// ---------------------------------------------------------------------------------------------------
// The issuer over HTTPS next to plain HTTP, in one run: the same issuer process (its HTTPS listener and
// its loopback plain-HTTP listener share applications, keys and limits), the same client code, rounds
// interleaved so drift in the machine's load hits both sides alike.

export interface IssuerTransportOptions {
  concurrency: number;
  /** Per transport, split over `rounds` interleaved rounds. */
  durationMs: number;
  rounds: number;
  warmupRequests: number;
  /** Requests each on a fresh connection (handshake included), `concurrency` in flight. */
  freshConnectionRequests: number;
}

export interface IssuerTransportFigures {
  url: string;
  /** Keep-alive connections: the steady state of a worker fleet. */
  keepAlive: { requests: number; failures: number; tokensPerSecond: number; p50Ms: number; p99Ms: number };
  /** A new connection per request: what the TCP (+TLS) handshake costs. */
  freshConnection: { requests: number; failures: number; tokensPerSecond: number; p50Ms: number };
}

export interface IssuerTransportResult {
  concurrency: number;
  https: IssuerTransportFigures;
  http: IssuerTransportFigures;
  /** HTTPS tokens/s over HTTP tokens/s, keep-alive. */
  keepAliveRatio: number;
  freshConnectionRatio: number;
}

/**
 * Measures the dev stack's issuer over HTTPS (`issuer.url`) and over its plain loopback listener (the
 * origin of `issuer.tokenUrl` while that is http), and fails naming the cause when the stack has only
 * one of them (a stack from before HTTPS: `npm run bench -- --reset`).
 */
export async function measureIssuerTransports(
  config: DevConfig,
  options: IssuerTransportOptions,
): Promise<IssuerTransportResult> {
  const httpsUrl = new URL(config.issuer.url);
  const httpUrl = new URL(config.issuer.tokenUrl);
  if (httpsUrl.protocol !== 'https:' || httpUrl.protocol !== 'http:') {
    throw new BenchError(
      'bench.server_failed',
      `the stack's issuer needs an https url and a plain loopback token URL to compare them (got ${httpsUrl.origin} and ${httpUrl.origin}); rerun with --reset`,
    );
  }
  const targets = {
    https: await transportTarget(config, httpsUrl.origin, options),
    http: await transportTarget(config, httpUrl.origin, options),
  };
  try {
    const sides = ['http', 'https'] as const;
    for (const side of sides) await targets[side].warm();
    const runs = { http: [] as LoadRun[], https: [] as LoadRun[] };
    for (let round = 0; round < options.rounds; round++) {
      // Alternate which goes first, so neither always runs on the warmer machine.
      for (const side of round % 2 === 0 ? sides : ([...sides].reverse() as (typeof sides)[number][])) {
        runs[side].push(await targets[side].load(options.durationMs / options.rounds));
      }
    }
    const fresh = {
      http: await targets.http.fresh(options.freshConnectionRequests),
      https: await targets.https.fresh(options.freshConnectionRequests),
    };
    const figures = (side: 'http' | 'https', url: string): IssuerTransportFigures => {
      const all = runs[side];
      const completed = all.reduce((n, r) => n + r.completed, 0);
      const elapsedMs = all.reduce((n, r) => n + r.elapsedMs, 0);
      const latencies = all.flatMap((r) => r.latenciesMs);
      return {
        url,
        keepAlive: {
          requests: completed,
          failures: all.reduce((n, r) => n + r.failures, 0),
          tokensPerSecond: round(completed / (elapsedMs / 1000)),
          p50Ms: round(percentile(latencies, 50), 2),
          p99Ms: round(percentile(latencies, 99), 2),
        },
        freshConnection: fresh[side],
      };
    };
    const https = figures('https', httpsUrl.origin);
    const http = figures('http', httpUrl.origin);
    return {
      concurrency: options.concurrency,
      https,
      http,
      keepAliveRatio: round(https.keepAlive.tokensPerSecond / http.keepAlive.tokensPerSecond, 3),
      freshConnectionRatio: round(
        https.freshConnection.tokensPerSecond / http.freshConnection.tokensPerSecond,
        3,
      ),
    };
  } finally {
    await Promise.all([targets.https.close(), targets.http.close()]);
  }
}

/** Markdown rows for the bench report: HTTPS next to HTTP, keep-alive and fresh connections. */
export function renderIssuerTransports(r: IssuerTransportResult): string {
  const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
  const row = (label: string, https: string, http: string, ratio: number) =>
    `| ${label} | ${https} | ${http} | ${n(ratio, 2)}× |`;
  const fail = (f: { failures: number }) => (f.failures ? `; ${f.failures} failed` : '');
  return [
    '',
    `Issuer over HTTPS next to plain HTTP (same issuer process, concurrency ${r.concurrency}, rounds interleaved):`,
    '',
    '| Issuer transport | HTTPS | HTTP | HTTPS/HTTP |',
    '| --- | --- | --- | --- |',
    row(
      '5b Keep-alive connections',
      `${n(r.https.keepAlive.tokensPerSecond)} tokens/s; p50 ${n(r.https.keepAlive.p50Ms, 1)} ms, p99 ${n(r.https.keepAlive.p99Ms, 1)} ms${fail(r.https.keepAlive)}`,
      `${n(r.http.keepAlive.tokensPerSecond)} tokens/s; p50 ${n(r.http.keepAlive.p50Ms, 1)} ms, p99 ${n(r.http.keepAlive.p99Ms, 1)} ms${fail(r.http.keepAlive)}`,
      r.keepAliveRatio,
    ),
    row(
      '5b A new connection per request',
      `${n(r.https.freshConnection.tokensPerSecond)} tokens/s; p50 ${n(r.https.freshConnection.p50Ms, 1)} ms${fail(r.https.freshConnection)}`,
      `${n(r.http.freshConnection.tokensPerSecond)} tokens/s; p50 ${n(r.http.freshConnection.p50Ms, 1)} ms${fail(r.http.freshConnection)}`,
      r.freshConnectionRatio,
    ),
    '',
  ].join('\n');
}

interface LoadRun {
  completed: number;
  elapsedMs: number;
  latenciesMs: number[];
  failures: number;
}

async function transportTarget(config: DevConfig, origin: string, options: IssuerTransportOptions) {
  const { clientId, clientSecret } = config.apps.worker;
  const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(pair).toString('base64')}`,
  };
  const path = new URL(config.issuer.tokenUrl).pathname;
  const connect = await devCaConnect(config, origin);
  const pool = new Pool(origin, { connections: options.concurrency, keepAliveTimeout: 30_000, ...connect });
  let failures = 0;
  const requestToken = async () => {
    const res = await pool.request({ method: 'POST', path, headers, body: 'grant_type=client_credentials' });
    const body = await res.body.text();
    if (res.statusCode !== 200 || !body.includes('access_token')) failures++;
  };
  return {
    async warm() {
      await Promise.all(
        Array.from({ length: options.concurrency }, async (_, lane) => {
          for (let i = lane; i < options.warmupRequests; i += options.concurrency) await requestToken();
        }),
      );
    },
    async load(durationMs: number): Promise<LoadRun> {
      failures = 0;
      const run = await runFor(durationMs, options.concurrency, requestToken);
      return { ...run, failures };
    },
    async fresh(count: number) {
      // No keep-alive: every request pays for its own connection (and TLS handshake).
      const agent = new Agent({ pipelining: 0, keepAliveTimeout: 1, ...connect });
      let bad = 0;
      let next = 0;
      const started = process.hrtime.bigint();
      const latencies: number[] = [];
      const lane = async () => {
        while (next++ < count) {
          const t = process.hrtime.bigint();
          const res = await request(`${origin}${path}`, {
            method: 'POST',
            headers: { ...headers, connection: 'close' },
            body: 'grant_type=client_credentials',
            dispatcher: agent,
          });
          const body = await res.body.text();
          if (res.statusCode !== 200 || !body.includes('access_token')) bad++;
          latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, options.concurrency) }, lane));
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      await agent.close();
      return {
        requests: latencies.length,
        failures: bad,
        tokensPerSecond: round(latencies.length / (elapsedMs / 1000)),
        p50Ms: round(percentile(latencies, 50), 2),
      };
    },
    close: () => pool.close(),
  };
}

/** `connect: { ca }` with the dev CA for an https origin; nothing for plain HTTP. */
async function devCaConnect(config: DevConfig, origin: string): Promise<{ connect?: { ca: string } }> {
  if (new URL(origin).protocol !== 'https:') return {};
  return { connect: { ca: await readFile(config.temporal.caCertPath, 'utf8') } };
}
