import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { fetch as undiciFetch } from 'undici';
import { generateCodecKey } from '../codec/codec-keys.js';
import { ApplicationStore, type ApplicationsFile } from '../issuer/applications.js';
import { generateKeyId, generateSecret, hashSecret } from '../issuer/secrets.js';
import { packageRoot } from '../package-root.js';
import { DEFAULT_ROTATION_TASK_QUEUE } from '../stateful/rotation/types.js';
import { connectClient } from '../temporal/connect.js';
import { runningPid, spawnDaemon, stopDaemon } from './daemon.js';
import { devIssuerDispatcher } from './dev-ca-dispatcher.js';
import {
  type DevAppName,
  type DevConfig,
  devTls,
  devToken,
  readDevConfig,
  writeDevConfig,
} from './dev-config.js';
import { DevStackError } from './errors.js';
import { ensureDevIssuerCertificate } from './issuer-tls.js';
import { type DevLayout, devLayout } from './layout.js';
import { ensureDevPki } from './pki.js';
import { assertPortsFree, devPorts } from './ports.js';
import {
  REFERENCE_ROOT_TYPE,
  REFERENCE_TASK_QUEUE,
  REFERENCE_WORKFLOW_TYPES,
} from './reference-app-names.js';
import { type BuildProgress, ensureTokenrelayServer } from './temporal-install.js';

export const DEV_NAMESPACE = 'default';
export const DEV_AUDIENCE = 'tokenrelay-dev';
export const DEMO_API_AUDIENCE = 'tokenrelay-demo-api';

/**
 * The dev stack's applications, each with least privilege for one job (docs/architecture.md lists
 * what each grant allows). Only `developer` may do everything in the namespace, for tests and tools
 * that run arbitrary workflows.
 */
const devApps: Record<DevAppName, string[]> = {
  // The reference worker: its task queue, its workflow types, and the raw token for its activities.
  worker: [
    `${DEV_NAMESPACE}:taskqueue.poll:${REFERENCE_TASK_QUEUE}`,
    `${DEV_NAMESPACE}:workflow.start:${REFERENCE_ROOT_TYPE}`,
    ...REFERENCE_WORKFLOW_TYPES.map((type) => `${DEV_NAMESPACE}:token.read:${type}`),
  ],
  developer: [`${DEV_NAMESPACE}:write`, `${DEV_NAMESPACE}:token.read`, `${DEV_NAMESPACE}:token.rotate`],
  // May hand a tree a new token and watch it spread; may not start workflows or read raw tokens.
  rotator: [`${DEV_NAMESPACE}:read`, `${DEV_NAMESPACE}:token.rotate`],
  // The built-in rotator's worker: polls its own queue, finds targets and walks their trees (read),
  // signals new tokens (token.rotate); never reads one, starts nothing.
  rotationWorker: [
    `${DEV_NAMESPACE}:read`,
    `${DEV_NAMESPACE}:token.rotate`,
    `${DEV_NAMESPACE}:taskqueue.poll:${DEFAULT_ROTATION_TASK_QUEUE}`,
  ],
  admin: ['temporal-system:admin'],
  reader: [`${DEV_NAMESPACE}:read`],
  outsider: ['elsewhere:write'],
  // Namespace "demo-api" does not exist in Temporal; with its own audience the token is useless there.
  apiClient: ['demo-api:read'],
};
const devAppAudience: Partial<Record<DevAppName, string>> = { apiClient: DEMO_API_AUDIENCE };

export type DevUpStep =
  | { step: 'build'; progress?: BuildProgress }
  | { step: 'pki' | 'issuer' | 'demoApi' | 'temporal' | 'namespace' | 'ready'; detail?: string };

export interface DevUpOptions {
  /** Default: `TOKENRELAY_HOME` or `./.tokenrelay`. */
  root?: string;
  /** Wipe all state (PKI, keys, applications, Temporal data) first. */
  reset?: boolean;
  /** First port of the dev port plan. Default: `TOKENRELAY_PORT_BASE` or 17200. */
  portBase?: number;
  /** Token lifetime the dev issuer grants. Default 600 s. */
  tokenLifetimeSeconds?: number;
  /**
   * How often Temporal re-reads the issuer's JWKS; the issuer publishes a new signing key at least
   * this long before using it. Default 30 s. Short values make key rotation quick to watch (tests).
   */
  jwksRefreshSeconds?: number;
  /**
   * Extra Temporal dynamic config, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 100 }` so that
   * long-running workflows are asked to continue-as-new quickly (tests).
   */
  dynamicConfig?: Record<string, string | number | boolean>;
  onStep?: (step: DevUpStep) => void;
}

export interface DevUpResult {
  config: DevConfig;
  configPath: string;
  /** True when a stack that was already running was kept as it was. */
  reused: boolean;
}

/**
 * Brings up the issuer and then Temporal (so Temporal's first JWKS fetch succeeds), registers the
 * namespace, waits until a call made with the worker's token succeeds, and writes dev.json.
 * Reuses a healthy running stack.
 */
export async function devUp(options: DevUpOptions = {}): Promise<DevUpResult> {
  const layout = devLayout(options.root);
  const step = options.onStep ?? (() => {});
  if (options.reset) {
    await devDown({ root: layout.root });
    await rm(layout.root, { recursive: true, force: true });
  } else {
    const running = await runningStack(layout);
    if (running) return { config: running, configPath: layout.devConfigPath, reused: true };
    await devDown({ root: layout.root });
  }

  const ports = devPorts(options.portBase);
  const serverBinary = await ensureTokenrelayServer({
    onBuildStart: () => step({ step: 'build' }),
    onProgress: (progress) => step({ step: 'build', progress }),
  });
  for (const dir of [
    layout.root,
    layout.pkiDir,
    layout.issuerDir,
    layout.temporalDir,
    layout.logsDir,
    layout.runDir,
    layout.demoApiDir,
  ]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  // Read before anything may remove dev.json: histories in the kept Temporal data need these keys.
  const codec = (await readDevConfig(layout.devConfigPath).catch(() => undefined))?.codec ?? {
    keys: `dev-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}:${generateCodecKey()}`,
  };
  step({ step: 'pki' });
  const { paths: pki, generated } = await ensureDevPki(layout.pkiDir);
  if (generated) await rm(layout.devConfigPath, { force: true });
  // The issuer serves HTTPS with a certificate of the dev CA (issue 14), plus plain HTTP on a loopback
  // port for dev tools that do not pass the dev CA yet (dev.json tokenUrl and jwksUrl).
  const { paths: issuerTls } = await ensureDevIssuerCertificate(layout.pkiDir);
  const issuerLoopbackPort = ports.issuer + 2;
  await assertPortsFree([
    { port: ports.issuer, role: 'tokenrelay issuer' },
    { port: issuerLoopbackPort, role: 'tokenrelay issuer (plain HTTP, loopback)' },
    { port: ports.demoApi, role: 'tokenrelay demo API' },
    ...ports.temporal,
  ]);

  const issuerUrl = `https://127.0.0.1:${ports.issuer}`;
  const issuerLoopbackUrl = `http://127.0.0.1:${issuerLoopbackPort}`;
  const jwksRefreshSeconds = options.jwksRefreshSeconds ?? 30;
  if (!Number.isInteger(jwksRefreshSeconds) || jwksRefreshSeconds < 1) {
    throw new DevStackError(
      'devstack.invalid_state',
      `jwksRefreshSeconds must be a whole number of seconds >= 1, got ${jwksRefreshSeconds}`,
    );
  }
  const apps = await ensureDevApplications(layout, options.tokenLifetimeSeconds);

  await writeFile(
    layout.issuerConfigPath,
    `${JSON.stringify(
      {
        issuer: issuerUrl,
        audience: DEV_AUDIENCE,
        host: '127.0.0.1',
        port: ports.issuer,
        defaultTokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 600,
        verifierJwksRefreshSeconds: jwksRefreshSeconds,
        tls: { certPath: issuerTls.certPath, keyPath: issuerTls.keyPath },
        loopbackHttpPort: issuerLoopbackPort,
        auditLogPath: 'audit.log',
        applicationsPath: 'applications.json',
        signingKeysPath: 'signing-keys.json',
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  const config: DevConfig = {
    portBase: ports.base,
    temporal: {
      address: `127.0.0.1:${ports.frontend}`,
      namespace: DEV_NAMESPACE,
      serverName: 'localhost',
      caCertPath: pki.caCertPath,
      clientCertPath: pki.clients.worker.certPath,
      clientKeyPath: pki.clients.worker.keyPath,
      adminCertPath: pki.clients.admin.certPath,
      adminKeyPath: pki.clients.admin.keyPath,
      metricsUrl: `http://127.0.0.1:${ports.temporalMetrics}/metrics`,
    },
    issuer: {
      // HTTPS (the dev CA, temporal.caCertPath): the tokens' iss. tokenUrl and jwksUrl use the
      // issuer's loopback plain-HTTP listener until every dev tool passes the dev CA.
      url: issuerUrl,
      tokenUrl: `${issuerLoopbackUrl}/oauth/token`,
      jwksUrl: `${issuerLoopbackUrl}/.well-known/jwks.json`,
      audience: DEV_AUDIENCE,
      jwksRefreshSeconds,
    },
    demoApi: { url: `http://127.0.0.1:${ports.demoApi}`, audience: DEMO_API_AUDIENCE },
    codec,
    apps,
  };
  await writeFile(
    layout.demoApiConfigPath,
    `${JSON.stringify(
      {
        host: '127.0.0.1',
        port: ports.demoApi,
        issuer: issuerUrl,
        jwksUrl: `${issuerUrl}/.well-known/jwks.json`,
        jwksCaCertPath: pki.caCertPath,
        audience: DEMO_API_AUDIENCE,
        revokedPath: layout.demoApiRevokedPath,
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );

  step({ step: 'issuer', detail: issuerUrl });
  await startIssuerDaemon(layout);
  await waitFor('the issuer', layout.issuerPidPath, layout.issuerLogPath, 20_000, () =>
    healthy(issuerUrl, pki.caCertPath),
  );

  step({ step: 'demoApi', detail: config.demoApi.url });
  await startDemoApiDaemon(layout);
  await waitFor('the demo API', layout.demoApiPidPath, layout.demoApiLogPath, 20_000, () =>
    healthy(config.demoApi.url),
  );

  await writeDynamicConfig(layout, options.dynamicConfig ?? {});
  step({ step: 'temporal', detail: config.temporal.address });
  await startTemporalDaemon(layout, serverBinary, config, ports.base);
  step({ step: 'namespace', detail: DEV_NAMESPACE });
  await waitFor('the Temporal server', layout.temporalPidPath, layout.temporalLogPath, 90_000, () =>
    tryRegisterNamespace(config),
  );
  await waitFor('the Temporal server', layout.temporalPidPath, layout.temporalLogPath, 60_000, () =>
    workerTokenAccepted(config),
  );
  await writeDevConfig(layout.devConfigPath, config);
  step({ step: 'ready' });
  return { config, configPath: layout.devConfigPath, reused: false };
}

/** Stops Temporal and the issuer (Temporal first, so it never polls a missing JWKS). Idempotent. */
export async function devDown(options: { root?: string } = {}): Promise<{ stopped: string[] }> {
  const layout = devLayout(options.root);
  const stopped: string[] = [];
  if (await stopDaemon(layout.temporalPidPath)) stopped.push('temporal');
  if (await stopDaemon(layout.demoApiPidPath)) stopped.push('demo-api');
  if (await stopDaemon(layout.issuerPidPath)) stopped.push('issuer');
  return { stopped };
}

export type DevService = 'issuer' | 'temporal';

/**
 * Stops one service of a running stack, leaving the other up: for exercising outages (an issuer that
 * is down, a Temporal server restart). Returns whether it was running.
 */
export async function devStopService(service: DevService, options: { root?: string } = {}): Promise<boolean> {
  const layout = devLayout(options.root);
  return stopDaemon(service === 'issuer' ? layout.issuerPidPath : layout.temporalPidPath);
}

/** Starts one stopped service of a stack brought up before, with its existing state, and waits until it serves. */
export async function devStartService(service: DevService, options: { root?: string } = {}): Promise<void> {
  const layout = devLayout(options.root);
  const config = await readDevConfig(layout.devConfigPath);
  if (service === 'issuer') {
    if ((await runningPid(layout.issuerPidPath)) === undefined) await startIssuerDaemon(layout);
    await waitFor('the issuer', layout.issuerPidPath, layout.issuerLogPath, 20_000, () =>
      healthy(config.issuer.url, config.temporal.caCertPath),
    );
    return;
  }
  if ((await runningPid(layout.temporalPidPath)) === undefined) {
    const serverBinary = await ensureTokenrelayServer();
    await startTemporalDaemon(layout, serverBinary, config, config.portBase);
  }
  await waitFor('the Temporal server', layout.temporalPidPath, layout.temporalLogPath, 90_000, () =>
    workerTokenAccepted(config),
  );
}

export interface DevStatus {
  issuer: { running: boolean; pid: number | undefined };
  demoApi: { running: boolean; pid: number | undefined };
  temporal: { running: boolean; pid: number | undefined };
  configPath: string | undefined;
}

export async function devStatus(options: { root?: string } = {}): Promise<DevStatus> {
  const layout = devLayout(options.root);
  const issuerPid = await runningPid(layout.issuerPidPath);
  const demoApiPid = await runningPid(layout.demoApiPidPath);
  const temporalPid = await runningPid(layout.temporalPidPath);
  const hasConfig = await stat(layout.devConfigPath).then(
    () => true,
    () => false,
  );
  return {
    issuer: { running: issuerPid !== undefined, pid: issuerPid },
    demoApi: { running: demoApiPid !== undefined, pid: demoApiPid },
    temporal: { running: temporalPid !== undefined, pid: temporalPid },
    configPath: hasConfig ? layout.devConfigPath : undefined,
  };
}

async function runningStack(layout: DevLayout): Promise<DevConfig | undefined> {
  const status = await devStatus({ root: layout.root });
  const up = status.issuer.running && status.demoApi.running && status.temporal.running;
  if (!up || !status.configPath) return undefined;
  const config = await readDevConfig(layout.devConfigPath).catch(() => undefined);
  // A dev.json from an older tokenrelay lacks newer sections: rebuild rather than half-work.
  if (
    !config?.demoApi ||
    !config.codec ||
    !config.issuer.url.startsWith('https:') ||
    !(await healthy(config.issuer.url, config.temporal.caCertPath))
  )
    return undefined;
  if ((Object.keys(devApps) as DevAppName[]).some((name) => !config.apps?.[name])) return undefined;
  return (await workerTokenAccepted(config).catch(() => false)) ? config : undefined;
}

/**
 * Keeps existing applications (and so the credentials in dev.json) when both files are intact;
 * otherwise creates fresh ones. Secrets exist in plain text only in dev.json (mode 0600).
 */
async function ensureDevApplications(
  layout: DevLayout,
  tokenLifetimeSeconds: number | undefined,
): Promise<DevConfig['apps']> {
  const existing = await readDevConfig(layout.devConfigPath).catch(() => undefined);
  const store = new ApplicationStore(layout.applicationsPath);
  const stored = await store.list().catch(() => undefined);
  const intact =
    existing &&
    stored &&
    (Object.keys(devApps) as DevAppName[]).every((name) =>
      stored.some((app) => app.id === name && app.keys.some((k) => k.id === existing.apps[name]?.clientId)),
    );
  if (intact && existing) return existing.apps;

  const apps = {} as DevConfig['apps'];
  const file: ApplicationsFile = { applications: [] };
  for (const [name, permissions] of Object.entries(devApps) as Array<[DevAppName, string[]]>) {
    const clientId = generateKeyId();
    const clientSecret = generateSecret();
    apps[name] = { clientId, clientSecret, permissions };
    file.applications.push({
      id: name,
      permissions,
      ...(tokenLifetimeSeconds ? { tokenLifetimeSeconds } : {}),
      ...(devAppAudience[name] ? { audience: devAppAudience[name] } : {}),
      keys: [
        {
          id: clientId,
          secretHash: hashSecret(clientSecret),
          status: 'active',
          createdAt: new Date().toISOString(),
        },
      ],
    });
  }
  await store.write(file);
  return apps;
}

function startIssuerDaemon(layout: DevLayout): Promise<void> {
  return startCliDaemon(
    ['issuer', 'start'],
    layout.issuerConfigPath,
    layout.issuerLogPath,
    layout.issuerPidPath,
  );
}

function startDemoApiDaemon(layout: DevLayout): Promise<void> {
  return startCliDaemon(
    ['demo-api', 'start'],
    layout.demoApiConfigPath,
    layout.demoApiLogPath,
    layout.demoApiPidPath,
  );
}

/** Runs `tokenrelay <command> --config <configPath>` in the background; the config path marks the pid. */
async function startCliDaemon(
  command: string[],
  configPath: string,
  logPath: string,
  pidPath: string,
): Promise<void> {
  await spawnDaemon({
    command: process.execPath,
    args: [join(packageRoot(), 'bin', 'tokenrelay.js'), ...command, '--config', configPath],
    logPath,
    pidPath,
    marker: configPath,
  });
}

async function startTemporalDaemon(
  layout: DevLayout,
  serverBinary: string,
  config: DevConfig,
  portBase: number,
): Promise<void> {
  const command = await temporalServerCommand(layout, serverBinary, config, portBase);
  await spawnDaemon({
    ...command,
    logPath: layout.temporalLogPath,
    pidPath: layout.temporalPidPath,
    marker: command.args[1] as string,
  });
}

/**
 * How the dev stack runs the Temporal server: temporal-dev.yml rendered with the stack's state
 * folder, ports, JWKS URL, audience and JWKS refresh interval. Shared by `dev up` (in the background)
 * and `server start` (in the foreground).
 */
export async function temporalServerCommand(
  layout: DevLayout,
  serverBinary: string,
  config: DevConfig,
  portBase: number = config.portBase,
): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string }> {
  // Written by dev up; `server start` on an older state folder gets the base settings.
  if (!(await stat(layout.dynamicConfigPath).catch(() => undefined))) {
    await writeDynamicConfig(layout, {});
  }
  const configFile = join(packageRoot(), 'temporal-dev.yml');
  return {
    command: serverBinary,
    args: ['--config-file', configFile, 'start', ...temporalServices.flatMap((s) => ['--service', s])],
    env: {
      ...process.env,
      TOKENRELAY_STATE_DIR: layout.root,
      // The server derives its ports from this, so it must match the plan the issuer and dev.json use.
      TOKENRELAY_PORT_BASE: String(portBase),
      // Over HTTPS: Go trusts the dev CA through SSL_CERT_FILE (it then uses that file instead of the
      // system roots, which the dev server never needs).
      TOKENRELAY_JWKS_URL: `${config.issuer.url}/.well-known/jwks.json`,
      SSL_CERT_FILE: config.temporal.caCertPath,
      TOKENRELAY_JWT_AUDIENCE: config.issuer.audience,
      // Must match verifierJwksRefreshSeconds in issuer.json: the rotation schedule relies on it.
      TOKENRELAY_JWKS_REFRESH: `${config.issuer.jwksRefreshSeconds}s`,
      // tokenrelay's authorizer (server/README.md): the only issuer whose tokens count, and where
      // every decision on a token-sensitive call is written.
      TOKENRELAY_AUTHZ_ISSUER: config.issuer.url,
      TOKENRELAY_AUTHZ_AUDIT_LOG: join(layout.logsDir, 'authz-audit.log'),
    },
    cwd: layout.temporalDir,
  };
}

/** Dev-only dynamic config: namespace changes visible within a second instead of ten, plus extras. */
async function writeDynamicConfig(
  layout: DevLayout,
  extra: Record<string, string | number | boolean>,
): Promise<void> {
  const settings: Record<string, string | number | boolean> = {
    'system.namespaceCacheRefreshInterval': '1s',
    ...extra,
  };
  const yaml = Object.entries(settings)
    .map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n`)
    .join('');
  await writeFile(layout.dynamicConfigPath, yaml);
}

export const temporalServices = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'] as const;

/** Whether the service at `url` (issuer or demo API) answers its `/health`; https with the dev CA. */
async function healthy(url: string, caCertPath?: string): Promise<boolean> {
  try {
    const res = await undiciFetch(`${url}/health`, {
      signal: AbortSignal.timeout(2_000),
      ...(url.startsWith('https:') && caCertPath ? { dispatcher: devIssuerDispatcher(caCertPath) } : {}),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function withClient<T>(
  config: DevConfig,
  app: DevAppName,
  fn: (c: Connection) => Promise<T>,
): Promise<T> {
  const token = devToken(config, app);
  let connection: Connection | undefined;
  try {
    connection = await connectClient({
      address: config.temporal.address,
      tls: devTls(config, app === 'admin' ? 'admin' : 'worker'),
      token,
    });
    return await fn(connection);
  } finally {
    token.stop();
    await connection?.close();
  }
}

async function tryRegisterNamespace(config: DevConfig): Promise<boolean> {
  try {
    await withClient(config, 'admin', (c) =>
      c.workflowService.registerNamespace({
        namespace: config.temporal.namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      }),
    );
    return true;
  } catch (err) {
    return (err as { code?: number }).code === GrpcStatus.ALREADY_EXISTS;
  }
}

async function workerTokenAccepted(config: DevConfig): Promise<boolean> {
  try {
    await withClient(config, 'worker', (c) =>
      c.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
    );
    return true;
  } catch {
    return false;
  }
}

async function waitFor(
  what: string,
  pidPath: string,
  logPath: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await runningPid(pidPath)) === undefined) {
      throw new DevStackError(
        'devstack.start_failed',
        `${what} exited during start-up. ${await logTail(logPath)}`,
      );
    }
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new DevStackError(
    'devstack.start_failed',
    `${what} did not become ready within ${timeoutMs / 1000}s. ${await logTail(logPath)}`,
  );
}

async function logTail(path: string, lines = 20): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail ? `Last lines of ${path}:\n${tail}` : `See ${path}.`;
}
