import { join, resolve } from 'node:path';

/** Every file the dev stack owns, under one ignored folder (default `./.tokenrelay`). */
export interface DevLayout {
  root: string;
  pkiDir: string;
  issuerDir: string;
  issuerConfigPath: string;
  applicationsPath: string;
  signingKeysPath: string;
  /** The issuer's audit log: token events, and the dev applications `dev up` creates. */
  issuerAuditLogPath: string;
  temporalDir: string;
  dynamicConfigPath: string;
  logsDir: string;
  issuerLogPath: string;
  temporalLogPath: string;
  runDir: string;
  issuerPidPath: string;
  temporalPidPath: string;
  devConfigPath: string;
  demoApiDir: string;
  demoApiConfigPath: string;
  demoApiRevokedPath: string;
  demoApiLogPath: string;
  demoApiPidPath: string;
}

/** `TOKENRELAY_HOME` overrides the location, e.g. to run two stacks side by side. */
export function devLayout(root: string = process.env.TOKENRELAY_HOME ?? '.tokenrelay'): DevLayout {
  const abs = resolve(root);
  const issuerDir = join(abs, 'issuer');
  const temporalDir = join(abs, 'temporal');
  const logsDir = join(abs, 'logs');
  const runDir = join(abs, 'run');
  return {
    root: abs,
    pkiDir: join(abs, 'pki'),
    issuerDir,
    issuerConfigPath: join(issuerDir, 'issuer.json'),
    applicationsPath: join(issuerDir, 'applications.json'),
    signingKeysPath: join(issuerDir, 'signing-keys.json'),
    issuerAuditLogPath: join(issuerDir, 'audit.log'),
    temporalDir,
    dynamicConfigPath: join(temporalDir, 'dynamicconfig.yml'),
    logsDir,
    issuerLogPath: join(logsDir, 'issuer.log'),
    temporalLogPath: join(logsDir, 'temporal.log'),
    runDir,
    issuerPidPath: join(runDir, 'issuer.pid'),
    temporalPidPath: join(runDir, 'temporal.pid'),
    devConfigPath: join(abs, 'dev.json'),
    demoApiDir: join(abs, 'demo-api'),
    demoApiConfigPath: join(abs, 'demo-api', 'demo-api.json'),
    demoApiRevokedPath: join(abs, 'demo-api', 'revoked.json'),
    demoApiLogPath: join(logsDir, 'demo-api.log'),
    demoApiPidPath: join(runDir, 'demo-api.pid'),
  };
}

/**
 * The issuer state directory operator commands use when none is given: `TOKENRELAY_ISSUER_STATE_DIR`,
 * else the dev stack's issuer folder (`$TOKENRELAY_HOME/issuer`, default `.tokenrelay/issuer`).
 */
export function defaultIssuerStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(
    env.TOKENRELAY_ISSUER_STATE_DIR || devLayout(env.TOKENRELAY_HOME || '.tokenrelay').issuerDir,
  );
}
