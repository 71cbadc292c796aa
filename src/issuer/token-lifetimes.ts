import type { Application } from './applications.js';

/**
 * The longest lifetime any token issued now can have: how long a signing key that stopped signing
 * must stay published (docs/architecture.md §2, signing-key rotation).
 */
export function maxTokenLifetimeSeconds(apps: readonly Application[], defaultSeconds: number): number {
  return apps.reduce((max, app) => Math.max(max, app.tokenLifetimeSeconds ?? defaultSeconds), defaultSeconds);
}
