// Node side of the handoff relay: the activity a StatefulWorkflow runs to have its worker hand its
// children the token, instead of workflow-to-workflow signals (docs/architecture.md §3).

import { status as GrpcStatus } from '@grpc/grpc-js';
import { Context } from '@temporalio/activity';
import {
  type Client,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { grpcStatusOf } from '../temporal/errors.js';
import { Semaphore } from '../util/semaphore.js';
import { StatefulError } from './errors.js';
import {
  API_TOKEN_HANDOFF_SIGNAL,
  API_TOKEN_HANDOFF_UPDATE,
  type ApiTokenEnvelope,
  type HandoffRelayOutcome,
  type HandoffReply,
  RELAY_HANDOFF_ACTIVITY,
  type RelayHandoffActivities,
  type RelayOptions,
} from './messages.js';

/** A relay running longer than this heartbeats (as a regular activity), so a lost worker shows soon. */
const HEARTBEAT_EVERY_MS = 10_000;

/**
 * Signals sent at once by one relay: a parent with thousands of children must not open thousands of
 * calls on the worker's connection, and a few dozen keep a busy server saturated.
 */
const RELAY_CONCURRENCY = 32;

/**
 * How long one update call may wait for its child to take the handoff. A call that runs out is sent
 * again under the same update id, which the server joins to the one it already holds, so a child on a
 * busy worker costs waiting, not a second workflow task.
 */
const UPDATE_DEADLINE_MS = 10_000;

/**
 * Update calls a handoff gets before the relay sends the signal instead (the child's worker may be
 * stopped; the server accepts a signal alone).
 */
const UPDATE_ATTEMPTS = 3;

/**
 * Handoff updates this process keeps in flight at once, over all its relays: a bound on the calls a
 * worker holds open (a tree of 11,111 has 1,111 parents relaying at once), set well above what keeps
 * one worker busy (128 measured slower than no bound at 1,111 workflows). A relay waits for a slot,
 * which is safe: an activity holds no workflow-task slot.
 */
export const MAX_UPDATES_IN_FLIGHT = 1024;

const updatesInFlight = new Semaphore(MAX_UPDATES_IN_FLIGHT);

/**
 * Hands `envelope` to each child in `workflowIds` (its latest run) through `client`: by the reserved
 * handoff update when `options.byUpdate` (the child replies once it holds the token), and by the
 * reserved handoff signal to any child that did not take the update (it rejected it, runs a release
 * without the handler, or did not answer in time). A delivered signal means the server accepted it,
 * exactly as for a workflow-to-workflow signal, so an outcome means the same thing either way.
 *
 * The envelope holds the token: `client` must encrypt payloads (the worker's client does when the
 * worker has a codec).
 *
 * @returns one outcome per child, in order: `delivered`, `closed` (it no longer runs), `refused` (the
 *   server denied the caller: no `token.handoff` grant for its type, or no codec) or `failed`.
 */
export async function relayApiTokenHandoffs(
  client: Client,
  workflowIds: readonly string[],
  envelope: ApiTokenEnvelope,
  options: RelayOptions = {},
): Promise<HandoffRelayOutcome[]> {
  const outcomes: HandoffRelayOutcome[] = new Array(workflowIds.length);
  let next = 0;
  const lane = async () => {
    while (next < workflowIds.length) {
      const i = next++;
      const workflowId = workflowIds[i] as string;
      const updated = options.byUpdate ? await updateOne(client, workflowId, envelope) : null;
      outcomes[i] = updated ?? (await signalOne(client, workflowId, envelope));
    }
  };
  await Promise.all(Array.from({ length: Math.min(RELAY_CONCURRENCY, workflowIds.length) }, lane));
  return outcomes;
}

async function signalOne(
  client: Client,
  workflowId: string,
  envelope: ApiTokenEnvelope,
): Promise<HandoffRelayOutcome> {
  try {
    await client.workflow.getHandle(workflowId).signal(API_TOKEN_HANDOFF_SIGNAL, envelope);
    return 'delivered';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'closed';
    return grpcStatusOf(err)?.code === GrpcStatus.PERMISSION_DENIED ? 'refused' : 'failed';
  }
}

/**
 * Hands `envelope` over by update. Null when the child did not take it that way (it rejected it, runs
 * an older release, the update failed, or every attempt ran out of time): the caller sends the
 * signal, which every child takes. A refusal by the server or a closed child is final: the signal
 * would meet the same.
 */
async function updateOne(
  client: Client,
  workflowId: string,
  envelope: ApiTokenEnvelope,
): Promise<HandoffRelayOutcome | null> {
  // One id per child and version: a repeated call joins the update the server already holds.
  const updateId = `${API_TOKEN_HANDOFF_UPDATE}-${envelope.version}`;
  for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
    try {
      await updatesInFlight.run(() =>
        client.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
          client.workflow
            .getHandle(workflowId)
            .executeUpdate<HandoffReply, [ApiTokenEnvelope]>(API_TOKEN_HANDOFF_UPDATE, {
              args: [envelope],
              updateId,
            }),
        ),
      );
      return 'delivered';
    } catch (err) {
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) continue;
      if (err instanceof WorkflowUpdateFailedError) return null;
      if (err instanceof WorkflowNotFoundError) return 'closed';
      if (grpcStatusOf(err)?.code === GrpcStatus.PERMISSION_DENIED) return 'refused';
      return null;
    }
  }
  return null;
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
export const statefulWorkflowActivities: Readonly<RelayHandoffActivities> = {
  [RELAY_HANDOFF_ACTIVITY]: async (workflowIds, envelope, options) => {
    const context = activityContext();
    // Only relays that outlast the interval heartbeat: a short one costs the server no extra write.
    const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await relayApiTokenHandoffs(context.client, workflowIds, envelope, options);
    } finally {
      clearInterval(heartbeat);
    }
  },
};

function activityContext(): Context {
  try {
    return Context.current();
  } catch (cause) {
    throw new StatefulError(
      'stateful.wrong_context',
      `${RELAY_HANDOFF_ACTIVITY} runs only as an activity of a worker that has a connection`,
      { cause },
    );
  }
}
