import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { osActor } from './admin-actor.js';
import type { ApplicationAdminOptions } from './application-admin.js';
import { AuditLog } from './audit-log.js';
import { type IssuerConfig, loadIssuerConfig, resolveIssuerConfig } from './config.js';
import type { SigningKeyAdminOptions } from './signing-key-admin.js';

/** An issuer state directory opened for operator commands: its config, and the options the admin functions take. */
export interface IssuerState {
  stateDir: string;
  config: IssuerConfig;
  audit: AuditLog;
  applications: ApplicationAdminOptions;
  signingKeys: SigningKeyAdminOptions;
}

/**
 * Opens `stateDir`: reads its `issuer.json` when present (so paths, token lifetimes and the rotation
 * schedule are the running issuer's), else assumes the default file names inside the directory.
 */
export async function openIssuerState(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<IssuerState> {
  const dir = resolve(stateDir);
  const configPath = join(dir, 'issuer.json');
  const exists = await access(configPath).then(
    () => true,
    () => false,
  );
  // Operator commands mint nothing, so a directory without issuer.json needs no audience.
  const config = exists
    ? await loadIssuerConfig(configPath, env)
    : resolveIssuerConfig({ audience: 'unconfigured' }, configPath, env);
  const audit = new AuditLog(config.auditLogPath);
  const sink = (event: Parameters<AuditLog['record']>[0]) => audit.record(event);
  // Every change made through this state is recorded as the OS account's (docs: the audit log).
  const actor = osActor(env);
  return {
    stateDir: dir,
    config,
    audit,
    applications: {
      applicationsPath: config.applicationsPath,
      audit: sink,
      actor,
      maxTokenLifetimeSeconds: config.maxTokenLifetimeSeconds,
    },
    signingKeys: { ...config, audit: sink, actor },
  };
}
