// The workflow the replay fixtures were recorded with, frozen: test/replay/fixtures/* hold histories
// of this exact code on top of each release's StatefulWorkflow, so replaying them checks that
// StatefulWorkflow stays deterministic, not that this file does. Change it only together with every
// fixture. Runs in Temporal's workflow sandbox.
import { condition, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';
import { StatefulWorkflow } from '../../src/workflow.js';

export const finishSignal = defineSignal('finish');
export const restartSignal = defineSignal('restart');
/** Starts one more opted-in child with the given workflow id. */
export const spawnSignal = defineSignal<[string]>('spawn');

export interface ReplayTreeNodeInput {
  /** Levels below this node. */
  depth: number;
  /** Children per node. */
  fanout: number;
  /** Child indexes started with `propagateApiToken: false` (at this level only). */
  excluded?: number[];
  /** Start children with parentClosePolicy ABANDON, so they outlive a continue-as-new. */
  abandonChildren?: boolean;
  /** How many times this workflow continued-as-new; children are started by generation 0 only. */
  generation?: number;
  /** Task queue of this node's children (default: its own), so a test can stop their worker alone. */
  childTaskQueue?: string;
}

/** A tree node: children `<id>.c<i>`; completes on `finish`, continues-as-new on `restart`. */
export class ReplayTreeNode extends StatefulWorkflow<ReplayTreeNodeInput, string> {
  #finish = false;
  #restart = false;

  async run(): Promise<string> {
    setHandler(finishSignal, () => {
      this.#finish = true;
    });
    setHandler(restartSignal, () => {
      this.#restart = true;
    });
    setHandler(spawnSignal, async (workflowId) => {
      await this.startChild(replayTreeNode, { workflowId, input: { depth: 0, fanout: 0 } });
    });
    const { depth, fanout, excluded = [], generation = 0 } = this.input;
    const id = workflowInfo().workflowId;
    if (depth > 0 && generation === 0) {
      await Promise.all(
        Array.from({ length: fanout }, (_, i) =>
          this.startChild(replayTreeNode, {
            workflowId: `${id}.c${i}`,
            input: { depth: depth - 1, fanout },
            propagateApiToken: !excluded.includes(i),
            ...(this.input.abandonChildren ? { parentClosePolicy: 'ABANDON' as const } : {}),
            ...(this.input.childTaskQueue ? { taskQueue: this.input.childTaskQueue } : {}),
          }),
        ),
      );
    }
    await condition(() => this.#finish || this.#restart);
    if (this.#restart && !this.#finish)
      await this.continueAsNew({ ...this.input, generation: generation + 1 });
    return `finished generation ${generation}`;
  }
}
export const replayTreeNode = ReplayTreeNode.workflow();
