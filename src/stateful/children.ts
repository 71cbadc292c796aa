// Which children a workflow owes its token to, what the server accepted for each and what each
// confirmed. Plain TypeScript with no Temporal calls: StatefulWorkflow asks this registry what to send
// and records results.
import type { ApiTokenAck, ApiTokenChildInfo, ApiTokenChildren, CarriedChild } from './messages.js';

/** The token a parent holds, as far as the registry compares it. */
export interface HeldVersion {
  version: number;
  fingerprint: string | null;
}

interface ChildEntry {
  workflowId: string;
  workflowType: string;
  propagate: boolean;
  /**
   * `starting`: the start command is out; the child may not exist yet, so it cannot be signalled, and
   * the version handed in its input is not yet known to have arrived.
   */
  state: 'starting' | 'running' | 'skipped';
  /** The newest version the server accepted for the child (start input or signal). */
  sentVersion: number;
  sentFingerprint: string | null;
  /** The newest version the child confirmed holding (start input or ack). */
  confirmedVersion: number;
  confirmedFingerprint: string | null;
  /** `sentVersion` went out on the public `apiToken` signal (release 0.1.0): send it again as a handoff. */
  sentOnLegacySignal: boolean;
}

/**
 * The children of one workflow run, keyed by workflow id, in start order. Children are signalled by
 * workflow id (not by handle) so the registry survives continue-as-new and reaches a child's latest run.
 */
export class ChildRegistry {
  readonly #children = new Map<string, ChildEntry>();

  constructor(carried: readonly CarriedChild[] = []) {
    for (const c of carried) {
      if (typeof c?.workflowId !== 'string') continue;
      const legacy = c.sentVersion === undefined;
      const sentVersion = versionOr0(legacy ? c.delivered : c.sentVersion);
      this.#children.set(c.workflowId, {
        workflowId: c.workflowId,
        workflowType: typeof c.workflowType === 'string' ? c.workflowType : '',
        propagate: c.propagate !== false,
        state: 'running',
        sentVersion,
        sentFingerprint: c.sentFingerprint ?? null,
        confirmedVersion: versionOr0(c.confirmedVersion),
        confirmedFingerprint: c.confirmedFingerprint ?? null,
        // Release 0.1.0 did not say how `delivered` got there: confirm it with a handoff.
        sentOnLegacySignal: legacy ? sentVersion > 0 : c.sentOnLegacySignal === true,
      });
    }
  }

  /** Records a child whose start command is about to be issued. */
  starting(workflowId: string, workflowType: string, propagate: boolean): void {
    this.#children.set(workflowId, {
      workflowId,
      workflowType,
      propagate,
      state: 'starting',
      sentVersion: 0,
      sentFingerprint: null,
      confirmedVersion: 0,
      confirmedFingerprint: null,
      sentOnLegacySignal: false,
    });
  }

  /**
   * The child exists and holds `handed`, the token in its start input (null when it was started
   * without one): the server accepted it and the child took it, so it counts as sent and confirmed.
   */
  started(workflowId: string, handed: HeldVersion | null): void {
    const entry = this.#children.get(workflowId);
    if (!entry) return;
    entry.state = 'running';
    if (handed) {
      recordSent(entry, handed, false);
      recordConfirmed(entry, handed);
    }
  }

  /** The start failed: there is no child to owe anything to. */
  forget(workflowId: string): void {
    this.#children.delete(workflowId);
  }

  /**
   * The server accepted a handoff of `sent` for the child: it is in the child's history, and the
   * child's handler takes it unless the child already holds a newer token. Temporal answers a query
   * only after the workflow task that processes every event before it (strong consistency,
   * `service/history/api/queryworkflow` in the server), so from here on every reader of the child
   * sees `sent` or newer: it counts as confirmed without an ack. A child that refuses it says so.
   */
  delivered(workflowId: string, sent: HeldVersion): void {
    const entry = this.#children.get(workflowId);
    if (!entry) return;
    recordSent(entry, sent, false);
    recordConfirmed(entry, sent);
  }

  /** Release 0.1.0: the server accepted an envelope of `version` on the public signal for the child. */
  sentOnLegacySignal(workflowId: string, sent: HeldVersion): void {
    const entry = this.#children.get(workflowId);
    if (entry) recordSent(entry, sent, true);
  }

  /**
   * A child's ack. Returns false for an id this run did not start (ignored). A plain ack never lowers
   * anything: an older one arriving late leaves the newer confirmation in place. An ack refusing the
   * newest version sent to the child takes that version's confirmation back, so it counts as
   * `unconfirmed` until a later handoff is delivered.
   */
  confirm(ack: ApiTokenAck): boolean {
    const entry = this.#children.get(ack.workflowId);
    if (!entry?.propagate) return false;
    if (ack.refusedVersion !== undefined && ack.refusedVersion === entry.sentVersion) {
      // The child's own word on what it holds after the newest send: it replaces the assumption.
      entry.confirmedVersion = ack.version;
      entry.confirmedFingerprint = ack.fingerprint;
      return true;
    }
    recordConfirmed(entry, ack);
    return true;
  }

  /** The child can no longer be signalled (it completed or was terminated): stop trying. */
  skip(workflowId: string): void {
    const entry = this.#children.get(workflowId);
    if (entry) entry.state = 'skipped';
  }

  /** Whether `workflowId` is a running opted-in child that does not yet have `held` from the server. */
  owes(workflowId: string, held: HeldVersion): boolean {
    const entry = this.#children.get(workflowId);
    return entry !== undefined && isOwed(entry, held);
  }

  /** Ids of running opted-in children that still need a handoff of `held`. */
  owed(held: HeldVersion): string[] {
    const ids: string[] = [];
    for (const c of this.#children.values()) if (isOwed(c, held)) ids.push(c.workflowId);
    return ids;
  }

  /** Whether any opted-in child is starting or running: someone a new token may be handed to. */
  anyOptedIn(): boolean {
    for (const c of this.#children.values()) if (c.propagate && c.state !== 'skipped') return true;
    return false;
  }

  /** Whether any opted-in child's start is still in flight. */
  anyStarting(): boolean {
    for (const c of this.#children.values()) if (c.propagate && c.state === 'starting') return true;
    return false;
  }

  /** True when no opted-in child is starting or still owed `held`. */
  settled(held: HeldVersion): boolean {
    return !this.anyStarting() && this.owed(held).length === 0;
  }

  /** Release 0.1.0: ids of running opted-in children whose newest delivered version is below `version`. */
  legacyDue(version: number): string[] {
    const ids: string[] = [];
    for (const c of this.#children.values()) {
      if (c.propagate && c.state === 'running' && c.sentVersion < version) ids.push(c.workflowId);
    }
    return ids;
  }

  /** Release 0.1.0: no opted-in child is starting or has less than `version` delivered. */
  legacySettled(version: number): boolean {
    return !this.anyStarting() && this.legacyDue(version).length === 0;
  }

  counts(held: HeldVersion): ApiTokenChildren {
    const counts: ApiTokenChildren = { reached: 0, unconfirmed: 0, pending: 0, excluded: 0, skipped: 0 };
    for (const c of this.#children.values()) {
      if (!c.propagate) counts.excluded++;
      else if (c.state === 'skipped') counts.skipped++;
      else if (c.state === 'starting') counts.pending++;
      else if (holds(c.confirmedVersion, c.confirmedFingerprint, held)) counts.reached++;
      else if (!holds(c.sentVersion, c.sentFingerprint, held)) counts.pending++;
      else counts.unconfirmed++;
    }
    return counts;
  }

  list(): ApiTokenChildInfo[] {
    return Array.from(this.#children.values(), (c) => ({
      workflowId: c.workflowId,
      workflowType: c.workflowType,
      propagate: c.propagate,
      state: c.state,
      sentVersion: c.sentVersion,
      confirmedVersion: c.confirmedVersion,
    }));
  }

  /**
   * What continue-as-new hands to the next run. Skipped children are dropped: they are never signalled
   * again, and keeping them would grow every later run's input. A starting child cannot occur here
   * because continue-as-new waits until propagation settled.
   */
  carry(): CarriedChild[] {
    const carried: CarriedChild[] = [];
    for (const c of this.#children.values()) {
      if (c.state !== 'running') continue;
      carried.push({
        workflowId: c.workflowId,
        workflowType: c.workflowType,
        propagate: c.propagate,
        sentVersion: c.sentVersion,
        sentFingerprint: c.sentFingerprint,
        confirmedVersion: c.confirmedVersion,
        confirmedFingerprint: c.confirmedFingerprint,
        sentOnLegacySignal: c.sentOnLegacySignal,
      });
    }
    return carried;
  }
}

/** Whether a child recorded at `version`/`fingerprint` has (at least) the parent's `held` token. */
function holds(version: number, fingerprint: string | null, held: HeldVersion): boolean {
  if (version !== held.version) return version > held.version;
  // Same version: the same token unless either fingerprint is unknown (then the version decides).
  return fingerprint === null || held.fingerprint === null || fingerprint === held.fingerprint;
}

function isOwed(c: ChildEntry, held: HeldVersion): boolean {
  if (!c.propagate || c.state !== 'running') return false;
  if (c.sentOnLegacySignal && c.sentVersion <= held.version) return held.version > 0;
  return !holds(c.sentVersion, c.sentFingerprint, held);
}

function recordSent(entry: ChildEntry, sent: HeldVersion, legacy: boolean): void {
  // The parent's token only moves forward (or sideways on a lost tie), so the newest send is the one
  // to remember; a late completion of an older send is ignored.
  if (sent.version < entry.sentVersion) return;
  entry.sentVersion = sent.version;
  entry.sentFingerprint = sent.fingerprint;
  entry.sentOnLegacySignal = legacy;
}

function recordConfirmed(entry: ChildEntry, confirmed: HeldVersion): void {
  if (confirmed.version < entry.confirmedVersion) return;
  entry.confirmedVersion = confirmed.version;
  entry.confirmedFingerprint = confirmed.fingerprint;
}

function versionOr0(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : 0;
}
