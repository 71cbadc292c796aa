import { generateCodecKey } from '../codec/codec-keys.js';
import { namesEveryDevApplication } from './dev-applications.js';
import type { DevConfig } from './dev-config.js';
import { DEMO_API_AUDIENCE, DEV_AUDIENCE, DEV_NAMESPACE } from './dev-names.js';
import type { DevPorts } from './ports.js';

// What goes into dev.json, the stack's address book (reading and writing it: dev-config.ts, which
// tools outside the dev stack use too).

/** The URLs of the dev issuer's two listeners for a port plan. */
export function devIssuerUrls(ports: DevPorts): { url: string; loopbackUrl: string; loopbackPort: number } {
  const loopbackPort = ports.issuer + 2;
  return {
    url: `https://127.0.0.1:${ports.issuer}`,
    loopbackUrl: `http://127.0.0.1:${loopbackPort}`,
    loopbackPort,
  };
}

/** dev.json for a port plan, its PKI files, the dev applications' credentials and the codec keys. */
export function composeDevConfig(input: {
  ports: DevPorts;
  pki: {
    caCertPath: string;
    clients: Record<'worker' | 'admin', { certPath: string; keyPath: string }>;
  };
  jwksRefreshSeconds: number;
  codec: DevConfig['codec'];
  apps: DevConfig['apps'];
}): DevConfig {
  const { ports, pki } = input;
  const issuer = devIssuerUrls(ports);
  return {
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
      url: issuer.url,
      tokenUrl: `${issuer.loopbackUrl}/oauth/token`,
      jwksUrl: `${issuer.loopbackUrl}/.well-known/jwks.json`,
      audience: DEV_AUDIENCE,
      jwksRefreshSeconds: input.jwksRefreshSeconds,
    },
    demoApi: { url: `http://127.0.0.1:${ports.demoApi}`, audience: DEMO_API_AUDIENCE },
    codec: input.codec,
    apps: input.apps,
  };
}

/**
 * The payload codec keys to keep: those of an earlier dev.json (histories in the kept Temporal data
 * can only be read with them), else a new key named after today's date.
 */
export function keptOrNewCodecKeys(previous: DevConfig | undefined): DevConfig['codec'] {
  return (
    previous?.codec ?? {
      keys: `dev-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}:${generateCodecKey()}`,
    }
  );
}

/**
 * Whether a dev.json was written by this tokenrelay's `dev up`: one from an older version lacks
 * newer sections (demo API, codec, an HTTPS issuer, a dev application), and a stack running from it
 * is rebuilt rather than left half-working.
 */
export function isCurrentDevConfig(config: DevConfig | undefined): config is DevConfig {
  return (
    config !== undefined &&
    config.demoApi !== undefined &&
    config.codec !== undefined &&
    config.issuer.url.startsWith('https:') &&
    namesEveryDevApplication(config)
  );
}
