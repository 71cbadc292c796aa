import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DEMO_API_AUDIENCE, DEV_AUDIENCE } from './dev-names.js';
import type { DevLayout } from './layout.js';

// The config files `dev up` renders for the two daemons it runs through the tokenrelay CLI (`issuer
// start --config`, `demo-api start --config`). Temporal's settings: temporal-config.ts.

export interface DevIssuerSettings {
  /** The issuer's HTTPS base URL: the tokens' `iss`. */
  url: string;
  port: number;
  /** Plain-HTTP listener on loopback for dev tools that do not pass the dev CA yet. */
  loopbackHttpPort: number;
  tokenLifetimeSeconds: number;
  /** Must equal Temporal's JWKS refresh interval: the signing-key schedule relies on it. */
  jwksRefreshSeconds: number;
  tls: { certPath: string; keyPath: string };
}

/** Writes `issuer/issuer.json`; state file paths are relative to it, so the folder can move. */
export async function writeDevIssuerConfig(layout: DevLayout, settings: DevIssuerSettings): Promise<void> {
  await writeConfig(layout.issuerConfigPath, {
    issuer: settings.url,
    audience: DEV_AUDIENCE,
    host: '127.0.0.1',
    port: settings.port,
    defaultTokenLifetimeSeconds: settings.tokenLifetimeSeconds,
    verifierJwksRefreshSeconds: settings.jwksRefreshSeconds,
    tls: settings.tls,
    loopbackHttpPort: settings.loopbackHttpPort,
    auditLogPath: basename(layout.issuerAuditLogPath),
    applicationsPath: basename(layout.applicationsPath),
    signingKeysPath: basename(layout.signingKeysPath),
  });
}

/** Writes `demo-api/demo-api.json`: the demo API verifies tokens against the issuer's HTTPS JWKS. */
export async function writeDemoApiConfig(
  layout: DevLayout,
  settings: { port: number; issuerUrl: string; caCertPath: string },
): Promise<void> {
  await writeConfig(layout.demoApiConfigPath, {
    host: '127.0.0.1',
    port: settings.port,
    issuer: settings.issuerUrl,
    jwksUrl: `${settings.issuerUrl}/.well-known/jwks.json`,
    jwksCaCertPath: settings.caCertPath,
    audience: DEMO_API_AUDIENCE,
    revokedPath: layout.demoApiRevokedPath,
  });
}

async function writeConfig(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}
