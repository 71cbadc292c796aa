import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationStore } from './applications.js';
import { AuditLog } from './audit-log.js';
import { bootstrapCredentialFromEnv } from './bootstrap-credential.js';
import { jwksMaxAgeSeconds, loadIssuerConfig } from './config.js';
import { IssuerMetrics } from './issuer-metrics.js';
import { createIssuerServer, type IssuerLogEvent } from './server.js';
import { SigningKeyRing } from './signing-key-ring.js';
import { readOrCreateSigningKeysFile } from './signing-keys.js';
import { maxTokenLifetimeSeconds } from './token-lifetimes.js';

export interface RunningIssuer {
  server: Server;
  url: string;
  metrics: IssuerMetrics;
  close(): Promise<void>;
}

/**
 * Loads the config at `configPath`, creates a signing key on first start, and listens. Applications
 * and signing keys are re-read from disk as they change; the bootstrap credential comes from `env`.
 */
export async function startIssuer(
  configPath: string,
  log: (event: IssuerLogEvent) => void = (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningIssuer> {
  const config = await loadIssuerConfig(configPath, env);
  const bootstrap = bootstrapCredentialFromEnv(env);
  const applications = new ApplicationStore(config.applicationsPath);
  await applications.list(); // fail at start, not on the first request, when the file is bad
  await readOrCreateSigningKeysFile(config.signingKeysPath, config.signingAlgorithm);
  const signingKeys = new SigningKeyRing(config.signingKeysPath, {
    maxTokenLifetimeSeconds: async () =>
      maxTokenLifetimeSeconds(await applications.list(), config.defaultTokenLifetimeSeconds),
  });
  await signingKeys.current();
  const audit = new AuditLog(config.auditLogPath);
  const metrics = new IssuerMetrics();
  const server = createIssuerServer({
    issuer: config.issuer,
    audience: config.audience,
    defaultTokenLifetimeSeconds: config.defaultTokenLifetimeSeconds,
    applications,
    signingKeys,
    jwksMaxAgeSeconds: jwksMaxAgeSeconds(config),
    rateLimit: config.rateLimit,
    ...(bootstrap ? { bootstrap } : {}),
    audit: (event) => audit.record(event),
    metrics,
    log,
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${config.host}:${port}`,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }).then(() => audit.flush()),
  };
}
