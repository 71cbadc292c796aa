// The shared test stack as tests see it: its config, plain connections for asserting what the server
// itself decides, tokens and applications on its issuer, and what the server and worker recorded.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { type DevConfig, devLayout } from '../../src/dev.js';
import {
  ClientCredentialsTokenSource,
  createApplication,
  RefreshingToken,
  type RefreshingTokenOptions,
} from '../../src/index.js';
import { sumMetric } from './metrics.js';
import { until } from './wait.js';

/** The shared stack's config (test/integration/global-setup.ts brings the stack up). */
export function devConfig(): DevConfig {
  return inject('devConfig');
}

/** The shared stack's state folder (TOKENRELAY_TEST_HOME). */
export function devRoot(): string {
  return inject('devRoot');
}

/**
 * A plain Temporal SDK connection with a fixed (or no) bearer token and no tokenrelay code in the
 * path, for asserting what the server itself accepts or refuses.
 */
export async function rawConnection(
  config: DevConfig,
  options: { token?: string; clientCert?: boolean } = {},
): Promise<Connection> {
  const t = config.temporal;
  const withCert = options.clientCert ?? true;
  return Connection.connect({
    address: t.address,
    tls: {
      serverNameOverride: t.serverName,
      serverRootCACertificate: await readFile(t.caCertPath),
      ...(withCert
        ? { clientCertPair: { crt: await readFile(t.clientCertPath), key: await readFile(t.clientKeyPath) } }
        : {}),
    },
    ...(options.token ? { metadata: { authorization: `Bearer ${options.token}` } } : {}),
    connectTimeout: 5_000,
  });
}

/**
 * Connects with `options` and makes one call; the gRPC code of whichever step failed, or 'ok'. A bad
 * token is refused as early as the connect-time GetSystemInfo, so the two count as one step.
 */
export async function callCode(
  config: DevConfig,
  options: { token?: string; clientCert?: boolean },
  call: (c: Connection) => Promise<unknown>,
): Promise<number | 'ok'> {
  let connection: Connection | undefined;
  try {
    return await grpcCodeOf(
      rawConnection(config, options).then((c) => {
        connection = c;
        return call(c);
      }),
    );
  } finally {
    await connection?.close();
  }
}

/** The gRPC status code a failed call carries (7 PermissionDenied, 16 Unauthenticated, …). */
export async function grpcCodeOf(call: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    const e = err as { code?: number; cause?: { code?: number } };
    return e.code ?? e.cause?.code ?? -1;
  }
}

export async function issueToken(config: DevConfig, app: keyof DevConfig['apps']): Promise<string> {
  const { clientId, clientSecret } = config.apps[app];
  const source = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId,
    clientSecret,
  });
  return (await source.getToken()).token;
}

/**
 * A fresh application on the test stack's issuer (separate from the dev apps, so its token lifetime
 * can be short without affecting other tests). The issuer picks it up without a restart.
 */
export async function createTestApp(
  options: { permissions?: string[]; tokenLifetimeSeconds?: number } = {},
): Promise<{ clientId: string; clientSecret: string }> {
  const { key } = await createApplication(
    { applicationsPath: devLayout(devRoot()).applicationsPath },
    {
      id: `test-${randomUUID().slice(0, 8)}`,
      permissions: options.permissions ?? ['default:write'],
      ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
    },
  );
  return { clientId: key.keyId, clientSecret: key.secret };
}

/** A RefreshingToken for `credentials` on the test stack's issuer. */
export function refreshingTokenFor(
  config: DevConfig,
  credentials: { clientId: string; clientSecret: string },
  options: Partial<RefreshingTokenOptions> = {},
): RefreshingToken {
  return new RefreshingToken({
    source: new ClientCredentialsTokenSource({ tokenUrl: config.issuer.tokenUrl, ...credentials }),
    ...options,
  });
}

/**
 * Installs the Temporal Runtime (once per test file: vitest runs each file in its own process) so a
 * test can watch the worker's side: every core log entry that mentions an authorization failure
 * (refused polls, heartbeats, completions) is counted, and core's request counter shows the worker
 * was actually talking to the server.
 */
export async function installCountingRuntime(): Promise<{
  /** Worker log entries about refused calls so far. */
  authFailures(): number;
  /** Calls the worker's core made so far. */
  requests(): Promise<number>;
}> {
  const port = await freePort();
  let authFailures = 0;
  const authWords = /permission ?denied|unauthenticated|unauthorized/i;
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (authWords.test(`${entry.message} ${JSON.stringify(entry.meta ?? {})}`)) authFailures += 1;
      process.stderr.write(`[worker ${entry.level}] ${entry.message}\n`);
    }),
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } },
  });
  return {
    authFailures: () => authFailures,
    requests: () => sumMetric(`http://127.0.0.1:${port}/metrics`, /^temporal_(long_)?request\{/),
  };
}

/**
 * Calls the Temporal server refused for authorization so far, as the server itself records them:
 * tokens it could not accept at all (expired, bad signature, unknown key) appear only as
 * "Authorization error" lines in its log; tokens whose permissions did not cover the call are
 * counted in its metrics. The server publishes counters about once a second: call
 * {@link serverMetricsCaughtUp} first so the count includes everything that has happened.
 */
export async function serverAuthRefusals(config: DevConfig): Promise<number> {
  const log = await readFile(devLayout(devRoot()).temporalLogPath, 'utf8');
  const badTokens = log.split('\n').filter((line) => line.includes('"msg":"Authorization error"')).length;
  const denied = await sumMetric(
    config.temporal.metricsUrl,
    /^service_errors_(unauthorized|authorize_failed)\{/,
  );
  return badTokens + denied;
}

/**
 * Resolves once the server's published metrics cover everything that happened before the call: it
 * makes one request of its own and waits until the server's request counter shows it, so a count read
 * afterwards is not one publishing interval behind.
 */
export async function serverMetricsCaughtUp(config: DevConfig): Promise<void> {
  const requests = () => sumMetric(config.temporal.metricsUrl, /^service_requests\{/);
  const before = await requests();
  const token = await issueToken(config, 'developer');
  const code = await callCode(config, { token }, (c) =>
    c.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
  );
  if (code !== 'ok') throw new Error(`the metrics probe call failed with gRPC code ${code}`);
  await until(async () => (await requests()) > before, "the Temporal server's metrics to show a new request");
}

/** Whether nothing accepts TCP connections at `address` (`host:port`) right now. */
export function tcpPortRefuses(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** A port free right now on 127.0.0.1 (for a listener configured by port number, not by port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
