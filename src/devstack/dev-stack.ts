import { mkdir, rm, stat } from 'node:fs/promises';
import { runningPid, stopDaemon } from './daemon.js';
import { ensureDevApplications } from './dev-applications.js';
import { type DevConfig, readDevConfig, writeDevConfig } from './dev-config.js';
import { startDemoApiDaemon, startIssuerDaemon, startTemporalDaemon } from './dev-daemons.js';
import { composeDevConfig, devIssuerUrls, isCurrentDevConfig, keptOrNewCodecKeys } from './dev-json.js';
import { DEV_NAMESPACE } from './dev-names.js';
import { DevStackError } from './errors.js';
import { ensureDevIssuerCertificate } from './issuer-tls.js';
import { type DevLayout, devLayout } from './layout.js';
import { tryRegisterNamespace, workerTokenAccepted } from './namespace.js';
import { ensureDevPki } from './pki.js';
import { assertPortsFree, devPorts } from './ports.js';
import { healthy, type StartingDaemon, waitUntilReady } from './readiness.js';
import { writeDemoApiConfig, writeDevIssuerConfig } from './service-config-files.js';
import { writeDynamicConfig } from './temporal-config.js';
import { type BuildProgress, ensureTokenrelayServer } from './temporal-install.js';

/**
 * How long the issuer and the demo API may take to serve after their process starts. A deadline, not
 * a wait: it returns as soon as they answer. Typically ~1 s, but a Node process took 50 s to start on
 * a two-core machine at load 20 (two test suites side by side), and a dead process fails at once.
 */
const NODE_DAEMON_READY_MS = 90_000;

// `dev up/down/status` and single-service stop/start: the order things happen in. Each step's work
// lives in its own module (docs/architecture.md §1, `src/devstack/`).

// Names other code imports from here, from before the steps had modules of their own.
export { DEMO_API_AUDIENCE, DEV_AUDIENCE, DEV_NAMESPACE } from './dev-names.js';
export { temporalServerCommand, temporalServices } from './temporal-config.js';

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
  const jwksRefreshSeconds = options.jwksRefreshSeconds ?? 30;
  if (!Number.isInteger(jwksRefreshSeconds) || jwksRefreshSeconds < 1) {
    throw new DevStackError(
      'devstack.invalid_state',
      `jwksRefreshSeconds must be a whole number of seconds >= 1, got ${jwksRefreshSeconds}`,
    );
  }
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
  // Read before anything may remove dev.json: histories in the kept Temporal data need its codec keys,
  // and its credentials are kept when the issuer still knows them.
  let previous = await readDevConfig(layout.devConfigPath).catch(() => undefined);
  const codec = keptOrNewCodecKeys(previous);
  step({ step: 'pki' });
  const { paths: pki, generated } = await ensureDevPki(layout.pkiDir);
  if (generated) {
    // New PKI: the old dev.json points at files and credentials that no longer fit.
    await rm(layout.devConfigPath, { force: true });
    previous = undefined;
  }
  // The issuer serves HTTPS with a certificate of the dev CA (issue 14), plus plain HTTP on a loopback
  // port for dev tools that do not pass the dev CA yet (dev.json tokenUrl and jwksUrl).
  const { paths: issuerTls } = await ensureDevIssuerCertificate(layout.pkiDir);
  const issuer = devIssuerUrls(ports);
  await assertPortsFree([
    { port: ports.issuer, role: 'tokenrelay issuer' },
    { port: issuer.loopbackPort, role: 'tokenrelay issuer (plain HTTP, loopback)' },
    { port: ports.demoApi, role: 'tokenrelay demo API' },
    ...ports.temporal,
  ]);

  const apps = await ensureDevApplications(layout, {
    ...(previous ? { existing: previous } : {}),
    ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
  });
  const config = composeDevConfig({ ports, pki, jwksRefreshSeconds, codec, apps });
  await writeDevIssuerConfig(layout, {
    url: issuer.url,
    port: ports.issuer,
    loopbackHttpPort: issuer.loopbackPort,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 600,
    jwksRefreshSeconds,
    tls: { certPath: issuerTls.certPath, keyPath: issuerTls.keyPath },
  });
  await writeDemoApiConfig(layout, {
    port: ports.demoApi,
    issuerUrl: issuer.url,
    caCertPath: pki.caCertPath,
  });

  step({ step: 'issuer', detail: issuer.url });
  await startIssuerDaemon(layout);
  await waitUntilReady(issuerDaemon(layout), NODE_DAEMON_READY_MS, () => healthy(issuer.url, pki.caCertPath));

  step({ step: 'demoApi', detail: config.demoApi.url });
  await startDemoApiDaemon(layout);
  await waitUntilReady(demoApiDaemon(layout), NODE_DAEMON_READY_MS, () => healthy(config.demoApi.url));

  await writeDynamicConfig(layout, options.dynamicConfig ?? {});
  step({ step: 'temporal', detail: config.temporal.address });
  await startTemporalDaemon(layout, serverBinary, config, ports.base);
  step({ step: 'namespace', detail: DEV_NAMESPACE });
  await waitUntilReady(temporalDaemon(layout), 90_000, () => tryRegisterNamespace(config));
  await waitUntilReady(temporalDaemon(layout), 60_000, () => workerTokenAccepted(config));
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
    await waitUntilReady(issuerDaemon(layout), NODE_DAEMON_READY_MS, () =>
      healthy(config.issuer.url, config.temporal.caCertPath),
    );
    return;
  }
  if ((await runningPid(layout.temporalPidPath)) === undefined) {
    const serverBinary = await ensureTokenrelayServer();
    await startTemporalDaemon(layout, serverBinary, config, config.portBase);
  }
  await waitUntilReady(temporalDaemon(layout), 90_000, () => workerTokenAccepted(config));
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
  if (!isCurrentDevConfig(config) || !(await healthy(config.issuer.url, config.temporal.caCertPath)))
    return undefined;
  return (await workerTokenAccepted(config).catch(() => false)) ? config : undefined;
}

const issuerDaemon = (layout: DevLayout): StartingDaemon => ({
  name: 'the issuer',
  pidPath: layout.issuerPidPath,
  logPath: layout.issuerLogPath,
});
const demoApiDaemon = (layout: DevLayout): StartingDaemon => ({
  name: 'the demo API',
  pidPath: layout.demoApiPidPath,
  logPath: layout.demoApiLogPath,
});
const temporalDaemon = (layout: DevLayout): StartingDaemon => ({
  name: 'the Temporal server',
  pidPath: layout.temporalPidPath,
  logPath: layout.temporalLogPath,
});
