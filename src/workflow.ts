// Sandbox-safe public API: only @temporalio/workflow and plain TypeScript, no Node built-ins.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * A token handed from a parent workflow to its children: `version` orders rotations so a stale
 * envelope never overwrites a newer token.
 */
export interface ApiTokenEnvelope {
  token: string;
  version: number;
}

/** Metadata about the current token, without the token itself. */
export interface ApiTokenInfo {
  version: number;
  fingerprint: string | null;
  updatedAt: string | null;
}

/**
 * The standard message names, so `temporal workflow signal --name apiToken` and
 * `handle.signal('apiToken', …)` work from any client. The signal takes a raw token string from a
 * rotator or a versioned envelope from a parent.
 */
export const apiTokenSignal = defineSignal<[string | ApiTokenEnvelope]>('apiToken');
export const apiTokenQuery = defineQuery<string | null>('apiToken');
export const apiTokenInfoQuery = defineQuery<ApiTokenInfo>('apiTokenInfo');
