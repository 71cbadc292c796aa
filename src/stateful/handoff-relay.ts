// Node side of the handoff relay: the local activity a StatefulWorkflow runs to have its worker
// signal its children, instead of workflow-to-workflow signals (docs/architecture.md §3).
import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { grpcStatusOf } from '../temporal/errors.js';
import { StatefulError } from './errors.js';
import {
  API_TOKEN_HANDOFF_SIGNAL,
  type ApiTokenEnvelope,
  type HandoffRelayOutcome,
  RELAY_HANDOFF_ACTIVITY,
} from './messages.js';

const PERMISSION_DENIED = 7;

/**
 * Signals sent at once by one relay: a parent with thousands of children must not open thousands of
 * calls on the worker's connection, and a few dozen keep a busy server saturated.
 */
const RELAY_CONCURRENCY = 32;

/**
 * Sends `envelope` to each child in `workflowIds` (its latest run) on the reserved handoff signal,
 * through `client`. The server's acceptance is what the parent counts as delivered, exactly as for a
 * workflow-to-workflow signal, so an outcome means the same thing either way.
 *
 * The envelope holds the token: `client` must encrypt payloads (the worker's client does when the
 * worker has a codec). A local activity's arguments are not recorded in workflow history; only the
 * outcomes are.
 *
 * @returns one outcome per child, in order: `delivered`, `closed` (it no longer runs), `refused` (the
 *   server denied the caller: no `token.handoff` grant for its type, or no codec) or `failed`.
 */
export async function relayApiTokenHandoffs(
  client: Client,
  workflowIds: readonly string[],
  envelope: ApiTokenEnvelope,
): Promise<HandoffRelayOutcome[]> {
  const outcomes: HandoffRelayOutcome[] = new Array(workflowIds.length);
  let next = 0;
  const lane = async () => {
    while (next < workflowIds.length) {
      const i = next++;
      outcomes[i] = await relayOne(client, workflowIds[i] as string, envelope);
    }
  };
  await Promise.all(Array.from({ length: Math.min(RELAY_CONCURRENCY, workflowIds.length) }, lane));
  return outcomes;
}

async function relayOne(
  client: Client,
  workflowId: string,
  envelope: ApiTokenEnvelope,
): Promise<HandoffRelayOutcome> {
  try {
    await client.workflow.getHandle(workflowId).signal(API_TOKEN_HANDOFF_SIGNAL, envelope);
    return 'delivered';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'closed';
    return grpcStatusOf(err)?.code === PERMISSION_DENIED ? 'refused' : 'failed';
  }
}

/**
 * The activities a worker that runs StatefulWorkflows registers beside its own: `startWorker` /
 * `runWorker` add them by themselves. A worker created with `Worker.create` should spread them into
 * its `activities`; without them its workflows hand tokens down by workflow-to-workflow signal, which
 * costs the server more (docs/architecture.md §3).
 *
 * @example
 * ```ts
 * const worker = await Worker.create({ connection, taskQueue, workflowsPath,
 *   activities: { ...statefulWorkflowActivities, ...activities } });
 * ```
 */
export const statefulWorkflowActivities: Readonly<
  Record<
    typeof RELAY_HANDOFF_ACTIVITY,
    (workflowIds: string[], envelope: ApiTokenEnvelope) => Promise<HandoffRelayOutcome[]>
  >
> = {
  [RELAY_HANDOFF_ACTIVITY]: async (workflowIds, envelope) =>
    relayApiTokenHandoffs(workerClient(), workflowIds, envelope),
};

function workerClient(): Client {
  try {
    return Context.current().client;
  } catch (cause) {
    throw new StatefulError(
      'stateful.wrong_context',
      `${RELAY_HANDOFF_ACTIVITY} runs only as an activity of a worker that has a connection`,
      { cause },
    );
  }
}
