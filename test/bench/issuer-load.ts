// Measurement 5 (and the issuer half of 6): the running issuer's token endpoint at concurrency 64 over
// keep-alive connections, against how fast jose alone signs the same kind of ES256 JWT in this process.
import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { Pool } from 'undici';
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
  const pool = new Pool(config.issuer.url, { connections: options.concurrency, keepAliveTimeout: 30_000 });
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
