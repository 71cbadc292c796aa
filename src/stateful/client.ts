// Node-side helpers for starting a StatefulWorkflow tree and rotating or reading its token.
import type {
  Client,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowOptions,
} from '@temporalio/client';
import {
  type ApiTokenInfo,
  apiTokenInfoQuery,
  apiTokenQuery,
  apiTokenSignal,
  type StatefulHandoff,
} from './messages.js';
import type { StatefulWorkflowFunction } from './stateful-workflow.js';

/** Options of {@link startParent}: Temporal's start options plus the input and the first token. */
export type StartParentOptions<I> = WorkflowOptions & {
  /** The workflow's input (its first argument); an `apiUrl` field becomes the workflow's `apiUrl`. */
  input: I;
  /**
   * The first token (version 1). It travels in the start input, which is history: configure the
   * client with an encrypting payload codec. Omit it to send the first token later by signal.
   */
  apiToken?: string;
};

/**
 * Starts the root of a StatefulWorkflow tree, optionally holding its first token.
 *
 * @example
 * ```ts
 * const handle = await startParent(client, catalogSync, {
 *   taskQueue: 'catalog',
 *   workflowId: 'catalog-sync',
 *   input: { apiUrl: 'https://api.example.com', shards: 5 },
 *   apiToken: process.env.CATALOG_API_TOKEN,
 * });
 * ```
 */
export async function startParent<I, R>(
  client: Client,
  workflow: StatefulWorkflowFunction<I, R> | string,
  options: StartParentOptions<NoInfer<I>>,
): Promise<WorkflowHandleWithFirstExecutionRunId<StatefulWorkflowFunction<I, R>>> {
  const { input, apiToken, ...startOptions } = options;
  if (apiToken !== undefined) assertToken(apiToken, 'startParent: options.apiToken');
  const handoff: StatefulHandoff | undefined =
    apiToken === undefined ? undefined : { apiToken: { token: apiToken, version: 1 } };
  return client.workflow.start<StatefulWorkflowFunction<I, R>>(workflow, {
    ...startOptions,
    args: handoff ? [input, handoff] : [input],
  });
}

/**
 * Hands `token` to a StatefulWorkflow (normally the root of a tree) by the `apiToken` signal; the
 * workflow stamps the next version and forwards it to its opted-in descendants. Resolves when the
 * server accepted the signal, not when propagation finished (watch `getApiTokenInfo` for that).
 *
 * @example
 * ```ts
 * await rotateApiToken(handle, newToken);
 * await rotateApiToken(client, 'catalog-sync', newToken);
 * ```
 */
export async function rotateApiToken(handle: WorkflowHandle, token: string): Promise<void>;
export async function rotateApiToken(client: Client, workflowId: string, token: string): Promise<void>;
export async function rotateApiToken(
  handleOrClient: WorkflowHandle | Client,
  workflowIdOrToken: string,
  token?: string,
): Promise<void> {
  const [handle, value] =
    token === undefined
      ? [handleOf(handleOrClient), workflowIdOrToken]
      : [handleOf(handleOrClient, workflowIdOrToken), token];
  assertToken(value, 'rotateApiToken: token');
  await handle.signal(apiTokenSignal, value);
}

/** The workflow's current token, or null when it holds none yet (the `apiToken` query). */
export async function getApiToken(handle: WorkflowHandle): Promise<string | null>;
export async function getApiToken(client: Client, workflowId: string): Promise<string | null>;
export async function getApiToken(
  target: WorkflowHandle | Client,
  workflowId?: string,
): Promise<string | null> {
  return handleOf(target, workflowId).query(apiTokenQuery);
}

/** Version, fingerprint, updatedAt and child counts of the workflow's token (the `apiTokenInfo` query). */
export async function getApiTokenInfo(handle: WorkflowHandle): Promise<ApiTokenInfo>;
export async function getApiTokenInfo(client: Client, workflowId: string): Promise<ApiTokenInfo>;
export async function getApiTokenInfo(
  target: WorkflowHandle | Client,
  workflowId?: string,
): Promise<ApiTokenInfo> {
  return handleOf(target, workflowId).query(apiTokenInfoQuery);
}

// With a workflow id the first argument is a client; without one it is already a handle.
function handleOf(target: WorkflowHandle | Client, workflowId?: string): WorkflowHandle {
  return workflowId === undefined
    ? (target as WorkflowHandle)
    : (target as Client).workflow.getHandle(workflowId);
}

// Says what is wrong with the value without ever echoing it.
function assertToken(token: unknown, what: string): asserts token is string {
  if (typeof token !== 'string' || token.length === 0) {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}
