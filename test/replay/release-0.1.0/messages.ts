// The apiToken contract shared by workflows and clients. Sandbox-safe: @temporalio/workflow and plain
// TypeScript only, so a client, an activity and a workflow all import the same definitions.
import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * A token handed from a parent workflow to its children: `version` orders rotations so a stale
 * envelope never overwrites a newer token.
 */
export interface ApiTokenEnvelope {
  token: string;
  /** A positive integer; a receiver keeps the envelope only when it is newer than what it holds. */
  version: number;
}

/** How far the current token got among a workflow's direct children. */
export interface ApiTokenChildren {
  /** Opted-in children known to hold this workflow's current version. */
  reached: number;
  /** Opted-in children that are starting or still owed the current version. */
  pending: number;
  /** Children started with `propagateApiToken: false`: they never receive a token. */
  excluded: number;
  /** Opted-in children that could no longer be signalled (completed, terminated) and are left alone. */
  skipped: number;
}

/** Metadata about the current token, without the token itself. */
export interface ApiTokenInfo {
  /** 0 while the workflow holds no token; each accepted token has a higher version than the last. */
  version: number;
  /** A short SHA-256 prefix of the token (hex), to compare holders without revealing the token. */
  fingerprint: string | null;
  /** Workflow time (ISO 8601) at which the current token was accepted. */
  updatedAt: string | null;
  children: ApiTokenChildren;
}

/** What an activity needs to call the external API: the token and URL current at the time of asking. */
export interface ApiAccess {
  token: string;
  version: number;
  apiUrl: string | null;
}

/**
 * The second workflow argument of a StatefulWorkflow: what a parent, `startParent` or continue-as-new
 * hands to a run. It carries the token, so it must only travel through an encrypting payload codec.
 */
export interface StatefulHandoff {
  apiToken?: ApiTokenEnvelope;
  /** Carried across continue-as-new so `updatedAt` keeps meaning "when this token arrived". */
  updatedAt?: string;
  /** Carried across continue-as-new: an `apiUrl` changed by signal outlives the run. */
  apiUrl?: string | null;
  /** Carried across continue-as-new, so children started by earlier runs keep receiving tokens. */
  children?: CarriedChild[];
}

/** A child remembered across continue-as-new (children are signalled by workflow id, not handle). */
export interface CarriedChild {
  workflowId: string;
  propagate: boolean;
  /** The newest version known to have reached the child. */
  delivered: number;
}

/**
 * The standard message names, so `temporal workflow signal --name apiToken` and
 * `handle.signal('apiToken', …)` work from any client. The signal takes a raw token string from a
 * rotator (the receiver stamps the next version) or a versioned envelope from a parent.
 */
export const apiTokenSignal = defineSignal<[string | ApiTokenEnvelope]>('apiToken');
/** The current token, or null before the first one arrived. */
export const apiTokenQuery = defineQuery<string | null>('apiToken');
/** Version, fingerprint, time and child propagation counts; never the token. */
export const apiTokenInfoQuery = defineQuery<ApiTokenInfo>('apiTokenInfo');
/** Token, version and apiUrl in one consistent answer, for activities; null before the first token. */
export const apiAccessQuery = defineQuery<ApiAccess | null>('apiAccess');
/** Replaces this workflow's own `apiUrl` (null clears it); children keep theirs. */
export const apiUrlSignal = defineSignal<[string | null]>('apiUrl');
/** This workflow's `apiUrl`, or null. */
export const apiUrlQuery = defineQuery<string | null>('apiUrl');
