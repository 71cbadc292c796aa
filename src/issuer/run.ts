import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationStore } from './applications.js';
import { loadIssuerConfig } from './config.js';
import { createIssuerServer, type IssuerLogEvent } from './server.js';
import { loadOrCreateSigningKeys } from './signing-keys.js';

export interface RunningIssuer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Loads the config at `configPath`, creates a signing key on first start, and listens. */
export async function startIssuer(
  configPath: string,
  log: (event: IssuerLogEvent) => void = (event) => process.stdout.write(`${JSON.stringify(event)}\n`),
): Promise<RunningIssuer> {
  const config = await loadIssuerConfig(configPath);
  const applications = new ApplicationStore(config.applicationsPath);
  await applications.list(); // fail at start, not on the first request, when the file is bad
  const signingKeys = await loadOrCreateSigningKeys(config.signingKeysPath, config.signingAlgorithm);
  const server = createIssuerServer({
    issuer: config.issuer,
    audience: config.audience,
    defaultTokenLifetimeSeconds: config.defaultTokenLifetimeSeconds,
    applications,
    signingKeys,
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
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
