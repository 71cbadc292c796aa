// Node-side helpers for starting a StatefulWorkflow tree and rotating or reading its token.
import type {
  Client,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowOptions,
} from '@temporalio/client';
import { ApiTokenGuardError } from './guard-errors.js';
import {
  type ApiTokenInfo,
  apiTokenInfoQuery,
  apiTokenQuery,
  apiTokenSignal,
  type StatefulHandoff,
} from './messages.js';
import { assertTokenEncrypted, type PlaintextGuardOptions } from './plaintext-guard.js';
import type { StatefulWorkflowFunction } from './stateful-workflow.js';
import { assertTokenNotExpired } from './token-expiry.js';

/** Options of {@link startParent}: Temporal's start options plus the input and the first token. */
export type StartParentOptions<I> = WorkflowOptions & {
  /** The workflow's input (its first argument); an `apiUrl` field becomes the workflow's `apiUrl`. */
  input: I;
  /**
   * The first token (version 1). It travels in the start input, which is history: the client must
   * have an encrypting payload codec, or the start is refused (`apitoken.plaintext_refused`) unless
   * `allowPlaintextToken` is set. Omit it to send the first token later by signal.
   */
  apiToken?: string;
} & PlaintextGuardOptions;

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
  const { input, apiToken, allowPlaintextToken, ...startOptions } = options;
  if (apiToken !== undefined) {
    assertToken(apiToken, 'startParent: options.apiToken');
    await assertTokenEncrypted(client.workflow, 'startParent', { allowPlaintextToken });
  }
  const handoff: StatefulHandoff | undefined =
    apiToken === undefined ? undefined : { apiToken: { token: apiToken, version: 1 } };
  return client.workflow.start<StatefulWorkflowFunction<I, R>>(workflow, {
    ...startOptions,
    args: handoff ? [input, handoff] : [input],
  });
}

/** Options of {@link rotateApiToken}. */
export interface RotateApiTokenOptions extends PlaintextGuardOptions {
  /**
   * When the target is a child in a tree rather than its root: `warn` (default) reports it through
   * `onWarning` and the result and sends anyway; `refuse` throws `apitoken.not_root` without sending;
   * `ignore` skips the check (and the query it costs), for callers rotating nodes on purpose.
   */
  notRoot?: 'warn' | 'refuse' | 'ignore';
  /** Called with each warning before the token is sent. Default: `process.emitWarning`. */
  onWarning?: (warning: ApiTokenWarning) => void;
}

/** Something the caller should know about a rotation that was still sent. */
export interface ApiTokenWarning {
  /**
   * `apitoken.not_root`: the target has a parent; the next rotation of the root overwrites this one
   * and, until then, this subtree holds a different token from the rest of the tree.
   */
  code: 'apitoken.not_root';
  workflowId: string;
  parentWorkflowId: string;
  message: string;
}

/** How long the root check waits for the target to answer `apiTokenInfo` before asking the server. */
const PARENT_QUERY_TIMEOUT_MS = 5_000;

/**
 * Hands `token` to a StatefulWorkflow (normally the root of a tree) by the `apiToken` signal; the
 * workflow stamps the next version and forwards it to its opted-in descendants. Resolves when the
 * server accepted the signal, not when propagation finished (`waitForApiTokenTree` waits for that).
 *
 * Refuses, before sending anything: a JWT whose `exp` already passed (`apitoken.expired`), and a client
 * whose payload codecs do not encrypt (`apitoken.plaintext_refused`, unless `allowPlaintextToken`).
 * Warns (or refuses, see `notRoot`) when the target is not the root of its tree; that check costs one
 * `apiTokenInfo` query (or, unanswered, a DescribeWorkflowExecution) before the signal.
 *
 * @example
 * ```ts
 * await rotateApiToken(handle, newToken);
 * await rotateApiToken(client, 'catalog-sync', newToken, { onWarning: (w) => log.warn(w.message) });
 * ```
 */
export async function rotateApiToken(
  handle: WorkflowHandle,
  token: string,
  options?: RotateApiTokenOptions,
): Promise<void>;
export async function rotateApiToken(
  client: Client,
  workflowId: string,
  token: string,
  options?: RotateApiTokenOptions,
): Promise<void>;
export async function rotateApiToken(
  handleOrClient: WorkflowHandle | Client,
  workflowIdOrToken: string,
  tokenOrOptions?: string | RotateApiTokenOptions,
  maybeOptions?: RotateApiTokenOptions,
): Promise<void> {
  const [handle, value, options] =
    typeof tokenOrOptions === 'string'
      ? [handleOf(handleOrClient, workflowIdOrToken), tokenOrOptions, maybeOptions ?? {}]
      : [handleOf(handleOrClient), workflowIdOrToken, tokenOrOptions ?? {}];
  assertToken(value, 'rotateApiToken: token');
  assertTokenNotExpired(value, `rotateApiToken(${handle.workflowId})`);
  await assertTokenEncrypted(handle.client, 'rotateApiToken', options);

  const notRoot = options.notRoot ?? 'warn';
  if (notRoot !== 'ignore') {
    const found = await treeParentOf(handle);
    if (found.parentWorkflowId !== null) {
      const message =
        `${handle.workflowId} is a child of ${found.parentWorkflowId} in a StatefulWorkflow tree, not its ` +
        "root: its subtree will hold a different token from the rest of the tree until the root's next " +
        'rotation overwrites it; rotate the root instead';
      if (notRoot === 'refuse')
        throw new ApiTokenGuardError('apitoken.not_root', `${message}. Nothing was sent.`);
      const warning: ApiTokenWarning = {
        code: 'apitoken.not_root',
        workflowId: handle.workflowId,
        parentWorkflowId: found.parentWorkflowId,
        message,
      };
      if (options.onWarning) options.onWarning(warning);
      else process.emitWarning(`rotateApiToken: ${message}`, { code: 'TOKENRELAY_NOT_ROOT' });
    }
  }
  await handle.signal(apiTokenSignal, value);
}

/**
 * The parent of a workflow in its tree, or null for a root: from its `apiTokenInfo` answer, else (no
 * answer, or a release that does not report it) from the server's record of its parent execution.
 */
export async function treeParentOf(
  handle: WorkflowHandle,
): Promise<{ parentWorkflowId: string | null; info: ApiTokenInfo | null }> {
  let info: ApiTokenInfo | null = null;
  try {
    info = await handle.client.withDeadline(Date.now() + PARENT_QUERY_TIMEOUT_MS, () =>
      handle.query(apiTokenInfoQuery),
    );
  } catch {
    // Not answered (no worker, not a StatefulWorkflow, closed): the server still knows the parent.
  }
  const reported = (info as { parentWorkflowId?: unknown } | null)?.parentWorkflowId;
  if (typeof reported === 'string' || reported === null) return { parentWorkflowId: reported, info };
  const description = await handle.describe();
  return { parentWorkflowId: description.parentExecution?.workflowId ?? null, info };
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
