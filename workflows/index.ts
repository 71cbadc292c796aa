// Reference workflows. This file runs inside Temporal's workflow sandbox: no Node built-ins, no I/O.
import {
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import { StatefulWorkflow } from '../src/workflow.js';

const { describeCaller } = proxyActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

/** The smoke test of the secured stack: one workflow, one activity, over mTLS with a JWT. */
export async function smokeWorkflow(name: string): Promise<string> {
  return describeCaller(name);
}

export const releaseSignal = defineSignal('release');
export const statusQuery = defineQuery<string>('status');

/** Waits for `release`; answers `status` meanwhile. Used to show who may query versus start. */
export async function heldWorkflow(): Promise<string> {
  let released = false;
  setHandler(statusQuery, () => (released ? 'released' : 'held'));
  setHandler(releaseSignal, () => {
    released = true;
  });
  await condition(() => released);
  return 'released';
}

// --- The reference application: an inventory sync tree that carries an API token -------------------

/** Stops a reference tree: each node forwards it to its children, then finishes. */
export const stopSignal = defineSignal('stop');
/** Child → parent: this child and its whole subtree have stopped (payload: the child's workflow id). */
export const stoppedSignal = defineSignal<[string]>('stopped');

/**
 * The `patched()` id of the stop cascade: `stop` cuts a node's API call short —
 * a call stuck retrying refusals would otherwise hold the node forever — and a node finishes only
 * after its children confirmed that their subtrees stopped (or 30 s passed). Histories without its
 * marker replay the earlier behaviour (forward `stop`, finish at once).
 */
export const STOP_CASCADE_PATCH = 'tokenrelay-reference-stop-cascade';
/**
 * The `patched()` id of the cancel cascade: a cancelled node requests cancellation of every child
 * (a closed child counts as stopped), waits like the stop cascade for their subtrees, then ends as
 * cancelled. Without it a cancelled root left its subtree running: children are ABANDONed so that
 * they outlive their parent's continue-as-new, and a run that did not start them cannot cancel them
 * through the SDK. Histories without its marker replay the earlier behaviour (end at once).
 */
export const CANCEL_CASCADE_PATCH = 'tokenrelay-reference-cancel-cascade';
/**
 * The `patched()` id of the bounded history: a node continues-as-new once its run's history reaches
 * {@link REPLAY_BUDGET_EVENTS} events instead of waiting for Temporal's suggestion (4096 events by
 * default, about seven minutes at a 1 s interval: each interval adds 11 events). A worker that no
 * longer holds a run in its cache (it restarted, or a task completion failed while the server was
 * away) gets the whole history and must replay it within the workflow task timeout (10 s); a retry
 * starts the replay over. On a two-core machine at load 11, three runs of 2000 events on one worker
 * took 28-60 s per replay, attempt after attempt, and the tree stalled until the load dropped
 * (cli.test.ts, server start); 484 events replay in 0.6 s idle, 6 s at load 12. Histories without
 * its marker replay the earlier behaviour.
 */
export const BOUNDED_HISTORY_PATCH = 'tokenrelay-reference-bounded-history';
/** A node's run continues-as-new at this many history events (about 23 intervals). */
export const REPLAY_BUDGET_EVENTS = 250;
/** How long a stopping node waits for its children's `stopped` before finishing anyway. */
const STOP_WAIT = '30 seconds';

/** What a node of the reference tree has done so far (this run and the ones before); no token in it. */
export interface SyncProgress {
  calls: number;
  lastVersion: number;
  /** How many times this node continued-as-new. */
  runs: number;
}
export const progressQuery = defineQuery<SyncProgress>('progress');

export interface InventorySyncInput {
  /** The protected API; every node calls its own URL below it. */
  apiUrl: string;
  regions: string[];
  storesPerRegion: number;
  /** Seconds between API calls of each node. */
  intervalSeconds: number;
  /** Set by the node itself when it continues-as-new. */
  carried?: CarriedProgress;
}

interface NodeInput {
  apiUrl: string;
  intervalSeconds: number;
  carried?: CarriedProgress;
}

/** Progress carried across continue-as-new; children are started by the first run only. */
interface CarriedProgress extends SyncProgress {
  childIds: string[];
}

const { syncInventory } = proxyActivities<ReturnType<typeof activities.createReferenceActivities>>({
  startToCloseTimeout: '10 seconds',
  // A 401 right after a rotation is retried quickly: the next attempt reads the then-current token.
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 1.5, maximumInterval: '2 seconds' },
});

/**
 * The shared life of every node: call the API with the current token every interval until told to
 * stop, then pass the stop on to the children and wait for their subtrees to stop (see
 * {@link STOP_CASCADE_PATCH}); cancelled, it cancels its children the same way (see
 * {@link CANCEL_CASCADE_PATCH}). A node runs for as long as the deployment does, so it
 * continues-as-new whenever Temporal suggests it (its token and children come along); children are
 * started with parentClosePolicy ABANDON so that a parent's new run does not end them.
 */
abstract class SyncNode<I extends NodeInput> extends StatefulWorkflow<I, SyncProgress> {
  #stopped = false;
  #progress: SyncProgress = { calls: 0, lastVersion: 0, runs: 0 };
  #childIds: string[] = [];
  /** Children that confirmed their subtree stopped (or could not be signalled: closed). */
  readonly #stoppedChildren = new Set<string>();

  /** Children of this node: `[workflowId, start]` pairs, started only by the node's first run. */
  protected abstract childrenToStart(): Array<[string, () => Promise<unknown>]>;

  async run(): Promise<SyncProgress> {
    setHandler(stopSignal, () => {
      this.#stopped = true;
    });
    setHandler(stoppedSignal, (workflowId) => {
      this.#stoppedChildren.add(workflowId);
    });
    setHandler(progressQuery, () => this.#progress);
    try {
      return await this.#sync();
    } catch (err) {
      if (isCancellation(err) && patched(CANCEL_CASCADE_PATCH)) {
        // The scope is cancelled: only a non-cancellable one can still send commands.
        await CancellationScope.nonCancellable(() => this.#stopSubtree('cancel'));
      }
      throw err;
    }
  }

  /** Starts the children (first run only), then calls the API every interval until stopped. */
  async #sync(): Promise<SyncProgress> {
    const carried = this.input.carried;
    if (carried) {
      this.#progress = { calls: carried.calls, lastVersion: carried.lastVersion, runs: carried.runs };
      this.#childIds = carried.childIds;
    } else {
      for (const [id, start] of this.childrenToStart()) {
        await start();
        this.#childIds.push(id);
      }
    }
    await this.waitForApiToken();
    while (!this.#stopped) {
      const version = await this.#syncOnce();
      if (version === undefined) break;
      this.#progress = { ...this.#progress, calls: this.#progress.calls + 1, lastVersion: version };
      await condition(() => this.#stopped, `${this.input.intervalSeconds}s`);
      if (!this.#stopped) {
        const next = {
          ...this.input,
          carried: { ...this.#progress, runs: this.#progress.runs + 1, childIds: this.#childIds },
        };
        if (this.#pastReplayBudget()) await this.continueAsNew(next);
        await this.continueAsNewIfSuggested(next);
      }
    }
    if (patched(STOP_CASCADE_PATCH)) await this.#stopSubtree('stop');
    else await Promise.all(this.#childIds.map((id) => getExternalWorkflowHandle(id).signal(stopSignal)));
    return this.#progress;
  }

  /**
   * Whether this run's history reached the replay budget (see {@link BOUNDED_HISTORY_PATCH}). The
   * length goes first so the marker is written in the task that continues-as-new; replaying a history
   * recorded without it, `patched()` answers false until the run is live again.
   */
  #pastReplayBudget(): boolean {
    return workflowInfo().historyLength >= REPLAY_BUDGET_EVENTS && patched(BOUNDED_HISTORY_PATCH);
  }

  /** One API call; undefined when `stop` cut it short (a node whose calls are refused still stops). */
  async #syncOnce(): Promise<number | undefined> {
    if (!patched(STOP_CASCADE_PATCH)) return (await syncInventory()).version;
    const scope = new CancellationScope();
    const call = scope.run(() => syncInventory());
    // Its own scope, cancelled below, so a finished call leaves no condition behind (no commands).
    const watch = new CancellationScope();
    const stopped = watch
      .run(() => condition(() => this.#stopped))
      .then(
        () => undefined,
        () => undefined,
      );
    const outcome = await Promise.race([call.then((result) => ({ version: result.version })), stopped]);
    watch.cancel();
    if (outcome) return outcome.version;
    scope.cancel();
    await call.catch((err: unknown) => {
      if (!isCancellation(err)) throw err;
    });
    return undefined;
  }

  /**
   * Forwards `stop` to every child, or requests its cancellation, and waits until each confirmed its
   * subtree stopped (a child that is closed already counts), at most {@link STOP_WAIT}; then tells
   * the parent this subtree stopped.
   */
  async #stopSubtree(how: 'stop' | 'cancel'): Promise<void> {
    await Promise.all(
      this.#childIds.map(async (id) => {
        try {
          const child = getExternalWorkflowHandle(id);
          await (how === 'stop' ? child.signal(stopSignal) : child.cancel());
        } catch (err) {
          if (isCancellation(err)) throw err;
          this.#stoppedChildren.add(id);
        }
      }),
    );
    await condition(() => this.#childIds.every((id) => this.#stoppedChildren.has(id)), STOP_WAIT);
    const info = workflowInfo();
    if (info.parent) {
      try {
        await getExternalWorkflowHandle(info.parent.workflowId).signal(stoppedSignal, info.workflowId);
      } catch (err) {
        // A parent that is gone needs no telling.
        if (isCancellation(err)) throw err;
      }
    }
  }

  protected child<CI>(
    fn: Parameters<typeof this.startChild<CI, SyncProgress>>[0],
    workflowId: string,
    input: CI,
  ): [string, () => Promise<unknown>] {
    return [workflowId, () => this.startChild(fn, { workflowId, input, parentClosePolicy: 'ABANDON' })];
  }
}

/** A store: the leaf that keeps its stock in sync with the API. */
export class StoreSync extends SyncNode<NodeInput> {
  protected childrenToStart(): Array<[string, () => Promise<unknown>]> {
    return [];
  }
}
export const storeSync = StoreSync.workflow();

/** A region: starts its stores (each with its own apiUrl) and syncs the regional view itself. */
export class RegionSync extends SyncNode<NodeInput & { stores: number }> {
  protected childrenToStart(): Array<[string, () => Promise<unknown>]> {
    const id = workflowInfo().workflowId;
    return Array.from({ length: this.input.stores }, (_, i) =>
      this.child(storeSync, `${id}.store-${i}`, {
        apiUrl: `${this.input.apiUrl}/stores/${i}`,
        intervalSeconds: this.input.intervalSeconds,
      }),
    );
  }
}
export const regionSync = RegionSync.workflow();

/**
 * The root: one per deployment, holding the API token a rotator replaces by signal. Starts a region
 * per entry of `regions`, each with its own apiUrl.
 */
export class InventorySync extends SyncNode<InventorySyncInput> {
  protected childrenToStart(): Array<[string, () => Promise<unknown>]> {
    const id = workflowInfo().workflowId;
    return this.input.regions.map((region) =>
      this.child(regionSync, `${id}.${region}`, {
        apiUrl: `${this.input.apiUrl}/regions/${region}`,
        stores: this.input.storesPerRegion,
        intervalSeconds: this.input.intervalSeconds,
      }),
    );
  }
}
export const inventorySync = InventorySync.workflow();
