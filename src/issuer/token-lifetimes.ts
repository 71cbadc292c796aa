import type { Application } from './applications.js';

/** The longest token lifetime an issuer grants unless configured otherwise: 24 hours. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/**
 * The lifetime of a token minted now for `app`: its own setting or the default, never above `cap`.
 * The cap also holds for an applications file edited by hand past what `app create` accepts.
 */
export function tokenLifetimeSeconds(
  app: Pick<Application, 'tokenLifetimeSeconds'>,
  defaultSeconds: number,
  cap: number = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
): number {
  return Math.min(app.tokenLifetimeSeconds ?? defaultSeconds, cap);
}

/**
 * The longest lifetime any token issued now can have: how long a signing key that stopped signing
 * must stay published (docs/architecture.md §2, signing-key rotation). Bounded by `cap`, so one
 * application with a ten-year setting cannot keep a retired key in the JWKS for ten years.
 */
export function maxTokenLifetimeSeconds(
  apps: readonly Application[],
  defaultSeconds: number,
  cap: number = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
): number {
  return apps.reduce(
    (max, app) => Math.max(max, tokenLifetimeSeconds(app, defaultSeconds, cap)),
    Math.min(defaultSeconds, cap),
  );
}
