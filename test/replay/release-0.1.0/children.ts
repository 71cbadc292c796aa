// Which children a workflow owes its token to, and how far each got. Plain TypeScript with no Temporal
// calls: the propagation loop in StatefulWorkflow asks this registry what to send and records results.
import type { ApiTokenChildren, CarriedChild } from './messages.js';

interface ChildEntry {
  workflowId: string;
  propagate: boolean;
  /**
   * `starting`: the start command is out; the child may not exist yet, so it cannot be signalled, and
   * the version handed in its input is not yet known to have arrived.
   */
  state: 'starting' | 'running' | 'skipped';
  /** The newest version known to have reached the child (handed at start or signalled). */
  delivered: number;
}

/**
 * The children of one workflow run, keyed by workflow id. Children are signalled by workflow id (not
 * by handle) so the registry survives continue-as-new and reaches a child's latest run.
 */
export class ChildRegistry {
  readonly #children = new Map<string, ChildEntry>();

  constructor(carried: readonly CarriedChild[] = []) {
    for (const c of carried) {
      this.#children.set(c.workflowId, {
        workflowId: c.workflowId,
        propagate: c.propagate,
        state: 'running',
        delivered: c.delivered,
      });
    }
  }

  /** Records a child whose start command is about to be issued. */
  starting(workflowId: string, propagate: boolean): void {
    this.#children.set(workflowId, { workflowId, propagate, state: 'starting', delivered: 0 });
  }

  /** The child exists and holds `handedVersion` (0 when it was started without a token). */
  started(workflowId: string, handedVersion: number): void {
    const entry = this.#children.get(workflowId);
    if (entry) {
      entry.state = 'running';
      entry.delivered = Math.max(entry.delivered, handedVersion);
    }
  }

  /** The start failed: there is no child to owe anything to. */
  forget(workflowId: string): void {
    this.#children.delete(workflowId);
  }

  delivered(workflowId: string, version: number): void {
    const entry = this.#children.get(workflowId);
    if (entry) entry.delivered = Math.max(entry.delivered, version);
  }

  /** The child can no longer be signalled (it completed or was terminated): stop trying. */
  skip(workflowId: string): void {
    const entry = this.#children.get(workflowId);
    if (entry) entry.state = 'skipped';
  }

  /** Ids of running opted-in children that do not yet hold `version`. */
  due(version: number): string[] {
    const ids: string[] = [];
    for (const c of this.#children.values()) {
      if (c.propagate && c.state === 'running' && c.delivered < version) ids.push(c.workflowId);
    }
    return ids;
  }

  /** True when no opted-in child is starting or still owed `version`. */
  settled(version: number): boolean {
    return this.counts(version).pending === 0;
  }

  counts(version: number): ApiTokenChildren {
    const counts: ApiTokenChildren = { reached: 0, pending: 0, excluded: 0, skipped: 0 };
    for (const c of this.#children.values()) {
      if (!c.propagate) counts.excluded++;
      else if (c.state === 'skipped') counts.skipped++;
      else if (c.state === 'starting' || c.delivered < version) counts.pending++;
      else counts.reached++;
    }
    return counts;
  }

  /**
   * What continue-as-new hands to the next run. Skipped children are dropped: they are never signalled
   * again, and keeping them would grow every later run's input. A starting child cannot occur here
   * because continue-as-new waits until propagation settled.
   */
  carry(): CarriedChild[] {
    const carried: CarriedChild[] = [];
    for (const c of this.#children.values()) {
      if (c.state === 'running') {
        carried.push({ workflowId: c.workflowId, propagate: c.propagate, delivered: c.delivered });
      }
    }
    return carried;
  }
}
