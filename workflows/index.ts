// Reference workflows. This file runs inside Temporal's workflow sandbox: no Node built-ins, no I/O.
import {
  condition,
  defineQuery,
  defineSignal,
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

/** What a node of the reference tree has done so far; no token in it. */
export interface SyncProgress {
  calls: number;
  lastVersion: number;
}
export const progressQuery = defineQuery<SyncProgress>('progress');

export interface InventorySyncInput {
  /** The protected API; every node calls its own URL below it. */
  apiUrl: string;
  regions: string[];
  storesPerRegion: number;
  /** Seconds between API calls of each node. */
  intervalSeconds: number;
}

interface NodeInput {
  apiUrl: string;
  intervalSeconds: number;
}

const { syncInventory } = proxyActivities<ReturnType<typeof activities.createReferenceActivities>>({
  startToCloseTimeout: '10 seconds',
  // A 401 right after a rotation is retried quickly: the next attempt reads the then-current token.
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 1.5, maximumInterval: '2 seconds' },
});

/**
 * The shared life of every node: call the API with the current token every interval until told to
 * stop, then pass the stop on to the children.
 */
abstract class SyncNode<I extends NodeInput> extends StatefulWorkflow<I, SyncProgress> {
  protected readonly children: Array<{ signal(s: typeof stopSignal): Promise<void> }> = [];
  #stopped = false;
  #progress: SyncProgress = { calls: 0, lastVersion: 0 };

  protected async syncUntilStopped(): Promise<SyncProgress> {
    setHandler(stopSignal, () => {
      this.#stopped = true;
    });
    setHandler(progressQuery, () => this.#progress);
    await this.waitForApiToken();
    while (!this.#stopped) {
      const { version } = await syncInventory();
      this.#progress = { calls: this.#progress.calls + 1, lastVersion: version };
      await condition(() => this.#stopped, `${this.input.intervalSeconds}s`);
    }
    await Promise.all(this.children.map((child) => child.signal(stopSignal)));
    return this.#progress;
  }
}

/** A store: the leaf that keeps its stock in sync with the API. */
export class StoreSync extends SyncNode<NodeInput> {
  run(): Promise<SyncProgress> {
    return this.syncUntilStopped();
  }
}
export const storeSync = StoreSync.workflow();

/** A region: starts its stores (each with its own apiUrl) and syncs the regional view itself. */
export class RegionSync extends SyncNode<NodeInput & { stores: number }> {
  async run(): Promise<SyncProgress> {
    const id = workflowInfo().workflowId;
    for (let i = 0; i < this.input.stores; i++) {
      this.children.push(
        await this.startChild(storeSync, {
          workflowId: `${id}.store-${i}`,
          input: { apiUrl: `${this.input.apiUrl}/stores/${i}`, intervalSeconds: this.input.intervalSeconds },
        }),
      );
    }
    return this.syncUntilStopped();
  }
}
export const regionSync = RegionSync.workflow();

/**
 * The root: one per deployment, holding the API token a rotator replaces by signal. Starts a region
 * per entry of `regions`, each with its own apiUrl.
 */
export class InventorySync extends SyncNode<InventorySyncInput> {
  async run(): Promise<SyncProgress> {
    const id = workflowInfo().workflowId;
    for (const region of this.input.regions) {
      this.children.push(
        await this.startChild(regionSync, {
          workflowId: `${id}.${region}`,
          input: {
            apiUrl: `${this.input.apiUrl}/regions/${region}`,
            stores: this.input.storesPerRegion,
            intervalSeconds: this.input.intervalSeconds,
          },
        }),
      );
    }
    return this.syncUntilStopped();
  }
}
export const inventorySync = InventorySync.workflow();
