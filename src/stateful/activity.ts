// Node-side helper for activities: the token of the calling workflow, read when the attempt runs.
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { StatefulError } from './errors.js';
import { type ApiAccess, apiAccessQuery } from './messages.js';

/**
 * The token, its version and the `apiUrl` that the workflow which scheduled the running activity holds
 * right now. Call it at the start of each attempt instead of passing the token as an activity argument:
 * arguments are fixed when the activity is scheduled (and sit in history), so a retry after a 401 would
 * reuse the rejected token, while this reads the one a rotation delivered in the meantime.
 *
 * The workflow is asked by the `apiAccess` query through `client`, which must reach the workflow's
 * namespace; the query has no run id, so it reaches the latest run after a continue-as-new.
 *
 * @throws StatefulError `stateful.no_api_token` (the workflow holds no token yet; a retry can succeed),
 *   `stateful.workflow_unreachable` (the query failed), `stateful.wrong_context` (not in an activity);
 *   the activity's cancellation (`CancelledFailure`) when it is cancelled while asking, for example
 *   by a worker shutting down.
 *
 * @example
 * ```ts
 * export function createActivities(client: Client) {
 *   return {
 *     async fetchCatalogPage(page: number): Promise<Item[]> {
 *       const { token, apiUrl } = await currentApiAccess(client);
 *       const res = await fetch(`${apiUrl}/catalog?page=${page}`, { headers: { authorization: `Bearer ${token}` } });
 *       if (res.status === 401) throw new Error('token rejected'); // retried with the then-current token
 *       return res.json();
 *     },
 *   };
 * }
 * ```
 */
export async function currentApiAccess(client: Client): Promise<ApiAccess> {
  const { workflowId, cancellationSignal } = callingActivity();
  let access: ApiAccess | null;
  try {
    // Cancelled with the activity. A worker shutting down cancels its activities and stops answering
    // queries, so a query left running would wait out its whole RPC deadline (seen: `npm start` took
    // 30 s to exit) while the shutdown waited for the activity.
    access = await client.withAbortSignal(cancellationSignal, () =>
      client.workflow.getHandle(workflowId).query(apiAccessQuery),
    );
  } catch (cause) {
    // The activity's own cancellation (Temporal's CancelledFailure), passed on as the SDK expects: the
    // worker then records the attempt as cancelled instead of logging a failure at WARN.
    if (cancellationSignal.aborted) throw cancellationSignal.reason;
    throw new StatefulError(
      'stateful.workflow_unreachable',
      `cannot read the apiToken of workflow ${workflowId}: the apiAccess query failed (is it a running StatefulWorkflow with a worker?)`,
      { cause },
    );
  }
  if (access === null) {
    throw new StatefulError(
      'stateful.no_api_token',
      `workflow ${workflowId} holds no apiToken yet; rotate one in with rotateApiToken`,
    );
  }
  return access;
}

function callingActivity(): { workflowId: string; cancellationSignal: AbortSignal } {
  let workflowId: string | undefined;
  let cancellationSignal: AbortSignal | undefined;
  let cause: unknown;
  try {
    const context = Context.current();
    // Undefined for a standalone activity, which has no workflow to ask.
    workflowId = context.info.workflowExecution?.workflowId;
    cancellationSignal = context.cancellationSignal;
  } catch (err) {
    cause = err;
  }
  if (workflowId === undefined || cancellationSignal === undefined) {
    throw new StatefulError(
      'stateful.wrong_context',
      'currentApiAccess must be called inside an activity started by a workflow',
      { cause },
    );
  }
  return { workflowId, cancellationSignal };
}
