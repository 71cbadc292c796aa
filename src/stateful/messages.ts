// The apiToken contract shared by workflows and clients. Sandbox-safe: @temporalio/workflow and plain
// TypeScript only, so a client, an activity and a workflow all import the same definitions.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * A token with its version, as a parent hands it to a child (start input, handoff signal) or a run to
 * the next (continue-as-new). `version` orders tokens: a receiver never goes back to an older one.
 */
export interface ApiTokenEnvelope {
  token: string;
  /**
   * A positive safe integer and a hybrid logical clock: a rotation accepted at workflow time `nowMs`
   * gets `max(held + 1, nowMs)`, so a later rotation anywhere in a tree is newer than an earlier one.
   */
  version: number;
}

/**
 * A child's report to its parent of the token it holds (no token in it). A handoff the server
 * accepted counts as confirmed without one (see `ChildRegistry.delivered`); a child sends an ack
 * only when it did not take a handoff that looked like its parent's (`refusedVersion`), or to a
 * parent still on release 0.1.0's envelopes.
 */
export interface ApiTokenAck {
  /** The child's workflow id: the parent ignores acks from ids it did not start. */
  workflowId: string;
  /** The version the child holds (0: none). */
  version: number;
  /** The fingerprint of the token it holds, or null. */
  fingerprint: string | null;
  /** The version of the handoff the child refused, when that is why it reports. */
  refusedVersion?: number;
}

/** One direct child as its parent records it. */
export interface ApiTokenChildInfo {
  workflowId: string;
  /** The child's workflow type ('' for a child carried over from a run of release 0.1.0). */
  workflowType: string;
  /** false: started with `propagateApiToken: false`, never receives a token. */
  propagate: boolean;
  /** starting: start in flight; running; skipped: could not be signalled any more (closed). */
  state: 'starting' | 'running' | 'skipped';
  /** Newest version the server accepted for this child (start input or handoff signal). */
  sentVersion: number;
  /**
   * Newest version the child is known to hold: the start input or a handoff the server accepted
   * (which the child takes unless it already holds a newer one), lowered only by the child's refusal.
   */
  confirmedVersion: number;
}

/** How far the current token got among a workflow's direct children. Each child is in one count. */
export interface ApiTokenChildren {
  /** Opted-in children known to hold the current version (or a newer one). */
  reached: number;
  /** Opted-in children the current version was sent to that refused it (or a 0.1.0-style send). */
  unconfirmed: number;
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
  /** This workflow's type. */
  workflowType: string;
  /** The workflow that started this one as a child, or null for a root. */
  parentWorkflowId: string | null;
  children: ApiTokenChildren;
  /** Every direct child this run knows, in start order. */
  childList: ApiTokenChildInfo[];
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

/**
 * A child remembered across continue-as-new (children are signalled by workflow id, not handle).
 * Runs of release 0.1.0 wrote `{ workflowId, propagate, delivered }` only; both shapes are read.
 */
export interface CarriedChild {
  workflowId: string;
  propagate: boolean;
  workflowType?: string;
  sentVersion?: number;
  /** Fingerprint of the token sent at `sentVersion`, or null when unknown. */
  sentFingerprint?: string | null;
  confirmedVersion?: number;
  confirmedFingerprint?: string | null;
  /**
   * `sentVersion` went out on the public `apiToken` signal (release 0.1.0 behaviour), which the child
   * may have refused after an upgrade: it is sent again as a handoff, which the child confirms.
   */
  sentOnLegacySignal?: boolean;
  /** Release 0.1.0: the newest version known to have reached the child. */
  delivered?: number;
}

/** Signal names no external caller may send (the cluster's authorizer refuses them): workflow to workflow only. */
export const RESERVED_SIGNAL_PREFIX = '__tokenrelay_';
/** Parent → child: the parent's token and version (`ApiTokenEnvelope`). */
export const API_TOKEN_HANDOFF_SIGNAL = `${RESERVED_SIGNAL_PREFIX}apiTokenHandoff`;
/**
 * Parent → child, the same handoff as an update, sent by the worker's relay only: the child takes it in
 * one server write (against three for the signal) and replies once it holds the token. A child that
 * rejects it (its validator leaves no history) gets the signal instead.
 */
export const API_TOKEN_HANDOFF_UPDATE = API_TOKEN_HANDOFF_SIGNAL;
/** Child → parent: what the child holds after a handoff (`ApiTokenAck`). */
export const API_TOKEN_ACK_SIGNAL = `${RESERVED_SIGNAL_PREFIX}apiTokenAck`;

/**
 * The activity by which a worker relays its workflow's handoff to its children over the worker's own
 * connection: by update (1 server write per child) and else by signal (3), against 5 for a
 * workflow-to-workflow signal. It needs the `token.handoff` grant; without it the workflow falls back
 * to the workflow-to-workflow signal. Histories from before {@link RelayOptions} ran it as a local
 * activity that signals only.
 */
export const RELAY_HANDOFF_ACTIVITY = `${RESERVED_SIGNAL_PREFIX}relayApiTokenHandoff`;

/**
 * What {@link RELAY_HANDOFF_ACTIVITY} reports for each child: the server accepted the handoff
 * (`delivered`), the child is no longer running (`closed`), the server refused the worker's
 * credentials (`refused`), or the call failed otherwise (`failed`, for example the server was
 * unavailable). The parent sends the last two as workflow-to-workflow signals.
 */
export type HandoffRelayOutcome = 'delivered' | 'closed' | 'refused' | 'failed';

/** How {@link RELAY_HANDOFF_ACTIVITY} hands the token over. */
export interface RelayOptions {
  /**
   * Try the handoff update first (one server write for the child, against three for the signal).
   * Only from a regular activity: a local activity runs while its parent's workflow task is held open,
   * and an update waits for the child's workflow task, so parents waiting on children could hold every
   * workflow-task slot of a worker. Default false: the signal only.
   */
  byUpdate?: boolean;
}

/**
 * The relay activity's signature, as the worker registers it and as both of StatefulWorkflow's
 * proxies (local for old histories, regular for new ones) call it.
 */
export type RelayHandoffActivities = Record<
  typeof RELAY_HANDOFF_ACTIVITY,
  (
    workflowIds: string[],
    envelope: ApiTokenEnvelope,
    options?: RelayOptions,
  ) => Promise<HandoffRelayOutcome[]>
>;

/** A child's reply to {@link apiTokenHandoffUpdate}: the version it holds after taking the handoff. */
export interface HandoffReply {
  version: number;
}

/**
 * The standard message names, so `temporal workflow signal --name apiToken` and
 * `handle.signal('apiToken', …)` work from any client. The signal takes a raw token string from a
 * rotator; the receiver stamps its version. Envelopes are refused on it (parents use the handoff).
 */
export const apiTokenSignal = defineSignal<[string]>('apiToken');
/** Parent → child delivery. Reserved: sent only by StatefulWorkflow, never by a client. */
export const apiTokenHandoffSignal = defineSignal<[ApiTokenEnvelope]>(API_TOKEN_HANDOFF_SIGNAL);
/** The handoff as an update (see {@link API_TOKEN_HANDOFF_UPDATE}); the reply is the version then held. */
export const apiTokenHandoffUpdate = defineUpdate<HandoffReply, [ApiTokenEnvelope]>(API_TOKEN_HANDOFF_UPDATE);
/** Child → parent confirmation. Reserved: sent only by StatefulWorkflow, never by a client. */
export const apiTokenAckSignal = defineSignal<[ApiTokenAck]>(API_TOKEN_ACK_SIGNAL);
/** The current token, or null before the first one arrived. */
export const apiTokenQuery = defineQuery<string | null>('apiToken');
/** Version, fingerprint, time, place in the tree and child propagation; never the token. */
export const apiTokenInfoQuery = defineQuery<ApiTokenInfo>('apiTokenInfo');
/** Token, version and apiUrl in one consistent answer, for activities; null before the first token. */
export const apiAccessQuery = defineQuery<ApiAccess | null>('apiAccess');
/** Replaces this workflow's own `apiUrl` (null clears it); children keep theirs. */
export const apiUrlSignal = defineSignal<[string | null]>('apiUrl');
/** This workflow's `apiUrl`, or null. */
export const apiUrlQuery = defineQuery<string | null>('apiUrl');
