// The rotator's contract, shared by its workflow (sandbox), its activities and the schedule helpers
// (node side). Sandbox-safe: plain TypeScript only.

/** The workflow type of the built-in rotator, as a Schedule starts it. */
export const API_TOKEN_ROTATION_WORKFLOW = 'apiTokenRotation';
/** The task queue the rotation worker polls by default (its identity needs `taskqueue.poll:` on it). */
export const DEFAULT_ROTATION_TASK_QUEUE = 'tokenrelay-rotation';

/** Which trees a rotation hands the new token to: listed roots, or every running root a query matches. */
export interface RotationTargets {
  /** Workflow ids of tree roots. */
  workflowIds?: string[];
  /**
   * A visibility query (Temporal's list filter), e.g. `WorkflowType = 'inventorySync'`. Only running
   * workflows without a parent are taken: a tree is rotated through its root.
   */
  query?: string;
}

/** Input of the `apiTokenRotation` workflow (what a Schedule's action carries; never a token). */
export interface ApiTokenRotationInput {
  targets: RotationTargets;
  /** How long to wait for every tree to confirm the new token before calling it lagging (ms). */
  confirmTimeoutMs: number;
  /**
   * Revoke the token the previous rotation of this schedule issued, this long (ms) after every tree
   * confirmed the new one. Absent: never revoke. Needs `scheduleId`, and a revoke hook on the worker.
   */
  revokeAfterMs?: number;
  /** The schedule this rotation belongs to: where the previous rotation's token is looked up. */
  scheduleId?: string;
}

/** What happened to one tree. */
export type TreeRotationOutcome =
  /** Every opted-in node of the tree holds the new token. */
  | 'rotated'
  /** The root took the token, but some node did not confirm it in time (or did not answer). */
  | 'lagging'
  /** No running workflow with that id (closed or never started): reported, not retried. */
  | 'not_found';

export interface TreeRotationReport {
  workflowId: string;
  outcome: TreeRotationOutcome;
  /** Nodes found in the tree (0 when not found). */
  nodes: number;
  /** Nodes that hold the new token (its fingerprint). */
  holding: number;
  /** Nodes that lag or did not answer, by workflow id (at most 20 named). */
  behind: string[];
  /** The root's version after the rotation, when it answered. */
  version: number | null;
  /** Why it is not `rotated`, in words. */
  detail?: string;
}

/** A token the rotator issued, as its result records it: identifiers only, never the token. */
export interface IssuedTokenRecord {
  /** The token's short SHA-256 fingerprint (what `apiTokenInfo` shows). */
  fingerprint: string;
  /** The JWT's `jti`, when it is a JWT with one: what a revocation names. */
  tokenId: string | null;
  /** When the token expires (ISO 8601), when known. */
  expiresAt: string | null;
}

export type RevocationOutcome =
  /** The previous token was revoked. */
  | 'revoked'
  /** Not asked for (no `revokeAfterMs`), or nothing to revoke (first rotation, no token id). */
  | 'not_requested'
  | 'nothing_to_revoke'
  /** Held back: not every tree confirmed the new token, so the old one may still be in use. */
  | 'held_back'
  /** The worker has no revoke hook configured. */
  | 'no_hook';

/** The `apiTokenRotation` workflow's result: per tree, without the token. */
export interface ApiTokenRotationResult {
  /** The new token, by fingerprint and id; null when no tree was there to rotate. */
  issued: IssuedTokenRecord | null;
  trees: TreeRotationReport[];
  revocation: { outcome: RevocationOutcome; previous: IssuedTokenRecord | null };
  /** Every tree rotated. */
  ok: boolean;
}

/** Where a running rotation is; answered by the `apiTokenRotationStatus` query. */
export interface ApiTokenRotationStatus {
  phase: 'resolving' | 'issuing' | 'delivering' | 'confirming' | 'revoking' | 'done';
  targets: number;
}
