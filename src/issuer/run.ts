import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ApplicationStore } from './applications.js';
import { AuditLog } from './audit-log.js';
import { bootstrapCredentialFromEnv } from './bootstrap-credential.js';
import { jwksMaxAgeSeconds, loadIssuerConfig } from './config.js';
import { IssuerMetrics } from './issuer-metrics.js';
import { createIssuerServers, type IssuerLogEvent } from './server.js';
import { SigningKeyRing } from './signing-key-ring.js';
import { readOrCreateSigningKeysFile } from './signing-keys.js';
import { type CertificateReloader, readTlsFiles, watchTlsFiles } from './tls-files.js';
import { maxTokenLifetimeSeconds } from './token-lifetimes.js';

export interface RunningIssuer {
  server: Server | HttpsServer;
  /** `https://…` when the config has `tls`, else `http://…`. */
  url: string;
  /** `http://127.0.0.1:<port>` of the extra plain listener when `loopbackHttpPort` is set. */
  loopbackHttpUrl?: string;
  metrics: IssuerMetrics;
  close(): Promise<void>;
}

/**
 * Loads the config at `configPath`, creates a signing key on first start, and listens. Applications
 * and signing keys are re-read from disk as they change, and so are the TLS certificate and key; the
 * bootstrap credential comes from `env`.
 */
export async function startIssuer(
  configPath: string,
  log: (event: IssuerLogEvent) => void = (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningIssuer> {
  const config = await loadIssuerConfig(configPath, env);
  const bootstrap = bootstrapCredentialFromEnv(env);
  if (bootstrap && !bootstrap.expiresAt) {
    // Not refused (a first setup may take a while) but never silent: an admin credential in the
    // environment that never expires is one an operator forgets.
    log({
      event: 'warning',
      warning: 'bootstrap_without_expiry',
      message:
        'TOKENRELAY_BOOTSTRAP_CLIENT_ID is set without TOKENRELAY_BOOTSTRAP_EXPIRES_AT: the bootstrap admin credential never expires. Set an expiry, and remove the credential once an admin application exists.',
    });
  }
  const applications = new ApplicationStore(config.applicationsPath);
  await applications.list(); // fail at start, not on the first request, when the file is bad
  await readOrCreateSigningKeysFile(config.signingKeysPath, config.signingAlgorithm);
  const metrics = new IssuerMetrics();
  const signingKeys = new SigningKeyRing(config.signingKeysPath, {
    maxTokenLifetimeSeconds: async () =>
      maxTokenLifetimeSeconds(
        await applications.list(),
        config.defaultTokenLifetimeSeconds,
        config.maxTokenLifetimeSeconds,
      ),
    onStaleKeys: (problem) => {
      metrics.stateFileStale.set({ file: 'signing-keys' }, problem ? 1 : 0);
      if (!problem) {
        log({ event: 'state_file_recovered', file: config.signingKeysPath });
        return;
      }
      metrics.stateFileErrors.inc({ file: 'signing-keys' });
      log({
        event: 'state_file_unreadable',
        file: config.signingKeysPath,
        error: problem.message,
        action: 'serving the signing keys read before; restore the file from a backup',
      });
    },
  });
  await signingKeys.current();
  const tlsFiles = config.tls ? await readTlsFiles(config.tls) : undefined;
  const audit = new AuditLog(config.auditLogPath);
  const servers = createIssuerServers(
    {
      issuer: config.issuer,
      audience: config.audience,
      defaultTokenLifetimeSeconds: config.defaultTokenLifetimeSeconds,
      maxTokenLifetimeSeconds: config.maxTokenLifetimeSeconds,
      applications,
      signingKeys,
      jwksMaxAgeSeconds: jwksMaxAgeSeconds(config),
      rateLimit: config.rateLimit,
      trustedProxies: config.trustedProxies,
      ...(bootstrap ? { bootstrap } : {}),
      ...(tlsFiles ? { tls: tlsFiles } : {}),
      audit: (event) => audit.record(event),
      metrics,
      log,
    },
    { plainLoopback: config.loopbackHttpPort !== undefined },
  );
  const server = servers.main;
  const plain = servers.plainLoopback;
  let reloader: CertificateReloader | undefined;
  if (config.tls) {
    reloader = await watchTlsFiles(config.tls, {
      apply: (files) => (server as HttpsServer).setSecureContext(files),
      onReload: (outcome) => {
        metrics.tlsReloads.inc({ outcome: outcome.ok ? 'ok' : 'failed' });
        log(
          outcome.ok
            ? { event: 'tls_reloaded', validTo: outcome.validTo }
            : {
                event: 'tls_reload_failed',
                error: outcome.error,
                action: 'still serving the previous certificate',
              },
        );
      },
    });
  }
  const listen = (s: typeof server, port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
  await listen(server, config.port, config.host);
  if (plain) {
    await listen(plain, config.loopbackHttpPort as number, '127.0.0.1');
    const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    log({ event: 'loopback_http_listening', url, note: 'plain HTTP for local tools; loopback only' });
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const closeOne = (s: typeof server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeIdleConnections();
    });
  return {
    server,
    url: `${config.tls ? 'https' : 'http'}://${host}:${port}`,
    ...(plain ? { loopbackHttpUrl: `http://127.0.0.1:${(plain.address() as AddressInfo).port}` } : {}),
    metrics,
    close: async () => {
      reloader?.stop();
      await Promise.all([closeOne(server), ...(plain ? [closeOne(plain)] : [])]);
      await audit.flush();
    },
  };
}
