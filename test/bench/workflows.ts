// Benchmark workflows. Runs in Temporal's workflow sandbox: @temporalio/workflow and plain TypeScript.
import { condition, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { StatefulWorkflow } from '../../src/workflow.js';
import type { benchActivities } from './activities.js';

/** Handled and ignored: what the raw signal rate is measured with. */
export const noopSignal = defineSignal('benchNoop');
export const finishSignal = defineSignal('benchFinish');

export interface BenchNodeInput {
  /** Levels below this node: 3 with fanout 10 makes the 1 + 10 + 100 + 1,000 tree. */
  depth: number;
  fanout: number;
}

/** A node of the propagation tree (or, with depth 0, one of the flat set). Children are `<id>.c<i>`. */
export class BenchNode extends StatefulWorkflow<BenchNodeInput, void> {
  #finish = false;

  async run(): Promise<void> {
    setHandler(noopSignal, () => {});
    setHandler(finishSignal, () => {
      this.#finish = true;
    });
    const { depth, fanout } = this.input;
    const id = workflowInfo().workflowId;
    if (depth > 0) {
      await Promise.all(
        Array.from({ length: fanout }, (_, i) =>
          this.startChild(benchNode, { workflowId: `${id}.c${i}`, input: { depth: depth - 1, fanout } }),
        ),
      );
    }
    await condition(() => this.#finish);
  }
}
export const benchNode = BenchNode.workflow();

const { noop } = proxyActivities<typeof benchActivities>({ startToCloseTimeout: '30 seconds' });

/** The throughput unit: one workflow, one activity. */
export async function benchTrivial(): Promise<void> {
  await noop();
}
