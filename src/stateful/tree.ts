// Walks a StatefulWorkflow tree through the `apiTokenInfo` query of each node, so an operator can see
// where a rotation got to: which workflows hold their parent's version, which lag, which cannot answer.
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { TokenRelayError } from '../errors.js';
import { grpcStatusOf, isNoPollerSeen, ranOutOfDeadline } from '../temporal/errors.js';
import { sleep } from '../util/poll.js';
import { type ApiTokenChildInfo, type ApiTokenInfo, apiTokenInfoQuery } from './messages.js';

/** One child as its parent records it (`apiTokenInfo().childList`). */
export type TreeChildInfo = ApiTokenChildInfo;

/**
 * The part of the `apiTokenInfo` answer a walk reads. Release 0.1.0 answers without `workflowType`,
 * `parentWorkflowId` and `childList`: such a node shows no type or parent and counts as a leaf.
 */
export type TreeNodeInfo = Pick<ApiTokenInfo, 'version' | 'fingerprint' | 'updatedAt'> &
  Partial<Pick<ApiTokenInfo, 'workflowType' | 'parentWorkflowId' | 'childList'>>;

/** Asks one workflow for its `apiTokenInfo`; the walk's only contact with Temporal. */
export type ApiTokenInfoReader = (workflowId: string) => Promise<TreeNodeInfo>;

export type ApiTokenNodeStatus =
  /** Answered, and holds at least its parent's version (or is the root, or is excluded). */
  | 'current'
  /** Opted in, answered, and holds an older version than its parent. */
  | 'lagging'
  /** Did not answer the query: see `unreachable.reason`. */
  | 'unreachable';

export type UnreachableReason =
  /** No such workflow (or no run of it any more). */
  | 'not_found'
  /** Its parent is still starting it: it may not exist yet. */
  | 'not_started'
  /** No answer: no worker polls its task queue (the query timed out, or the server said so). */
  | 'no_response'
  /** The workflow does not handle `apiTokenInfo`: not a StatefulWorkflow. */
  | 'not_stateful'
  /** Any other failure; `message` says which. */
  | 'query_failed';

export interface ApiTokenTreeNode {
  workflowId: string;
  /** From the node's own answer, else from its parent's record; null when neither says. */
  workflowType: string | null;
  /** 0 for the root. */
  depth: number;
  parentWorkflowId: string | null;
  /** null when the node did not answer. */
  version: number | null;
  fingerprint: string | null;
  updatedAt: string | null;
  status: ApiTokenNodeStatus;
  /** Started with `propagateApiToken: false`, or below such a node: never receives tokens. */
  excluded: boolean;
  /** Its parent could no longer signal it (closed) and stopped trying. */
  skipped: boolean;
  /** What the parent sent it (null for the root). */
  sentVersion: number | null;
  /** What its parent knows it holds: delivered, or what it said when refusing (null for the root). */
  confirmedVersion: number | null;
  /**
   * Whether its parent knows it holds the parent's current version (the handoff is in its history and
   * it did not refuse it). null for the root and for excluded nodes, which are never sent anything.
   */
  confirmed: boolean | null;
  /** Why the query failed; null when it answered. */
  unreachable: { reason: UnreachableReason; message: string } | null;
}

export interface ApiTokenTree {
  rootWorkflowId: string;
  /** Every node found, parent before children, children in the order their parent records them. */
  nodes: ApiTokenTreeNode[];
  counts: {
    total: number;
    current: number;
    lagging: number;
    unreachable: number;
    excluded: number;
    skipped: number;
  };
  /**
   * True when every opted-in node that was not skipped answered and holds at least its parent's
   * version. An unreachable node counts against it: nobody can tell whether it lags.
   */
  settled: boolean;
}

export interface ApiTokenTreeOptions {
  /** Queries in flight at once. Default 8. */
  concurrency?: number;
  /** How long one node may take to answer before it counts as unreachable. Default 5 s. */
  queryTimeout?: Duration;
  /** Refuse (`tree.too_large`) rather than walk more nodes than this. Default 10,000. */
  maxNodes?: number;
}

export interface WaitForApiTokenTreeOptions extends ApiTokenTreeOptions {
  /** Give up and return the last tree (`settled: false`) after this long. Default 30 s. */
  timeout?: Duration;
  /** Pause between walks. Default 500 ms. */
  interval?: Duration;
  /** Stops waiting early; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export type TreeErrorCode =
  /** The root workflow does not exist in the namespace. */
  | 'tree.workflow_not_found'
  /** More nodes than `maxNodes`. */
  | 'tree.too_large'
  /** An option is out of range. */
  | 'tree.invalid_option';

/** A walk that could not produce a tree. Nodes that fail to answer are not errors: they are `unreachable`. */
export class TreeError extends TokenRelayError {
  declare readonly code: TreeErrorCode;
}

const DEFAULT_CONCURRENCY = 8;
const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_NODES = 10_000;

/**
 * Every node of the StatefulWorkflow tree below `workflowId` (normally a root), found by asking each
 * node for its `apiTokenInfo` (metadata only: needs read access, never a token), breadth-first with at
 * most `concurrency` queries in flight.
 *
 * @example
 * ```ts
 * const tree = await getApiTokenTree(client, 'catalog-sync');
 * for (const n of tree.nodes) console.log(' '.repeat(n.depth * 2), n.workflowId, n.version, n.status);
 * ```
 */
export async function getApiTokenTree(
  client: Client,
  workflowId: string,
  options: ApiTokenTreeOptions = {},
): Promise<ApiTokenTree> {
  return walkApiTokenTree(
    infoReader(client, durationMs(options.queryTimeout, DEFAULT_QUERY_TIMEOUT_MS)),
    workflowId,
    options,
  );
}

/**
 * Walks the tree again and again until it is settled (no opted-in node lags or is unreachable) or
 * `timeout` passed; returns the last tree either way, with `settled` saying which.
 *
 * @example
 * ```ts
 * await rotateApiToken(client, 'catalog-sync', next);
 * const { settled, tree } = await waitForApiTokenTree(client, 'catalog-sync', { timeout: '30s' });
 * if (!settled) console.warn(tree.nodes.filter((n) => n.status !== 'current'));
 * ```
 */
export async function waitForApiTokenTree(
  client: Client,
  workflowId: string,
  options: WaitForApiTokenTreeOptions = {},
): Promise<{ tree: ApiTokenTree; settled: boolean }> {
  const queryTimeout = durationMs(options.queryTimeout, DEFAULT_QUERY_TIMEOUT_MS);
  return waitForTree(
    // A node that cannot answer must not hold the caller past the deadline.
    (deadline) => infoReader(client, Math.max(1_000, Math.min(queryTimeout, deadline - Date.now()))),
    workflowId,
    options,
  );
}

/**
 * {@link waitForApiTokenTree} over any reader; `readerFor(deadline)` gives the reader of one walk.
 * Exported for tests and for callers that query through something other than a Client.
 */
export async function waitForTree(
  readerFor: (deadline: number) => ApiTokenInfoReader,
  workflowId: string,
  options: WaitForApiTokenTreeOptions = {},
): Promise<{ tree: ApiTokenTree; settled: boolean }> {
  const timeout = durationMs(options.timeout, 30_000);
  const interval = durationMs(options.interval, 500);
  const deadline = Date.now() + timeout;
  for (;;) {
    options.signal?.throwIfAborted();
    const tree = await walkApiTokenTree(readerFor(deadline), workflowId, options);
    if (tree.settled || Date.now() + interval > deadline) return { tree, settled: tree.settled };
    await sleep(interval, options.signal);
    options.signal?.throwIfAborted();
  }
}

/** The walk itself, over any reader (tests use a fake one). */
export async function walkApiTokenTree(
  read: ApiTokenInfoReader,
  rootWorkflowId: string,
  options: ApiTokenTreeOptions = {},
): Promise<ApiTokenTree> {
  const concurrency = positiveInteger(options.concurrency, DEFAULT_CONCURRENCY, 'concurrency');
  const maxNodes = positiveInteger(options.maxNodes, DEFAULT_MAX_NODES, 'maxNodes');
  const found = new Map<string, Visited>();
  const root: Pending = { workflowId: rootWorkflowId, depth: 0, parent: null, entry: null, excluded: false };
  found.set(rootWorkflowId, { node: placeholder(root), children: [] });

  const visit = async (item: Pending): Promise<Pending[]> => {
    let info: TreeNodeInfo;
    try {
      info = await read(item.workflowId);
    } catch (err) {
      const unreachable = classify(err, item.entry);
      if (item.parent === null && unreachable.reason === 'not_found') {
        throw new TreeError('tree.workflow_not_found', `no workflow ${item.workflowId} in this namespace`, {
          cause: err,
        });
      }
      found.set(item.workflowId, { node: nodeOf(item, null, unreachable), children: [] });
      return [];
    }
    const childList = Array.isArray(info.childList) ? info.childList : [];
    const next: Pending[] = [];
    const children: string[] = [];
    for (const child of childList) {
      // A workflow id seen twice (a cycle, or a child recorded by two parents) is walked once.
      if (found.has(child.workflowId)) continue;
      if (found.size >= maxNodes) {
        throw new TreeError(
          'tree.too_large',
          `the tree below ${rootWorkflowId} has more than ${maxNodes} workflows; raise maxNodes to walk it`,
        );
      }
      const pending: Pending = {
        workflowId: child.workflowId,
        depth: item.depth + 1,
        parent: { workflowId: item.workflowId, version: info.version },
        entry: child,
        excluded: item.excluded || child.propagate === false,
      };
      found.set(child.workflowId, { node: placeholder(pending), children: [] });
      children.push(child.workflowId);
      next.push(pending);
    }
    found.set(item.workflowId, { node: nodeOf(item, info, null), children });
    return next;
  };

  await runPool([root], concurrency, visit);
  return treeOf(rootWorkflowId, found);
}

interface Pending {
  workflowId: string;
  depth: number;
  /** The parent as it answered: its version is what this node should hold. */
  parent: { workflowId: string; version: number } | null;
  /** The parent's record of this node. */
  entry: TreeChildInfo | null;
  excluded: boolean;
}

interface Visited {
  node: ApiTokenTreeNode;
  children: string[];
}

function nodeOf(
  item: Pending,
  info: TreeNodeInfo | null,
  unreachable: ApiTokenTreeNode['unreachable'],
): ApiTokenTreeNode {
  const { entry, parent, excluded } = item;
  const skipped = entry?.state === 'skipped';
  const version = info ? info.version : null;
  let status: ApiTokenNodeStatus = 'current';
  if (!info) status = 'unreachable';
  else if (parent && !excluded && info.version < parent.version) status = 'lagging';
  return {
    workflowId: item.workflowId,
    // '' is how a parent of release 0.1.0 carried over a child it did not know the type of.
    workflowType: info?.workflowType || entry?.workflowType || null,
    depth: item.depth,
    parentWorkflowId: parent?.workflowId ?? info?.parentWorkflowId ?? null,
    version,
    fingerprint: info?.fingerprint ?? null,
    updatedAt: info?.updatedAt ?? null,
    status,
    excluded,
    skipped,
    sentVersion: entry ? entry.sentVersion : null,
    confirmedVersion: entry ? entry.confirmedVersion : null,
    confirmed: entry && parent && !excluded ? entry.confirmedVersion >= parent.version : null,
    unreachable,
  };
}

/** A node queued but not yet asked; replaced once it answers or fails. */
function placeholder(item: Pending): ApiTokenTreeNode {
  return nodeOf(item, null, { reason: 'query_failed', message: 'not asked (the walk stopped early)' });
}

function treeOf(rootWorkflowId: string, found: Map<string, Visited>): ApiTokenTree {
  const nodes: ApiTokenTreeNode[] = [];
  // Pre-order, so printing nodes in order with their depth as indentation draws the tree.
  const stack = [rootWorkflowId];
  while (stack.length > 0) {
    const visited = found.get(stack.pop()!);
    if (!visited) continue;
    nodes.push(visited.node);
    for (let i = visited.children.length - 1; i >= 0; i--) stack.push(visited.children[i]!);
  }
  const counts = { total: nodes.length, current: 0, lagging: 0, unreachable: 0, excluded: 0, skipped: 0 };
  let settled = true;
  for (const n of nodes) {
    counts[n.status] += 1;
    if (n.excluded) counts.excluded += 1;
    if (n.skipped) counts.skipped += 1;
    if (!n.excluded && !n.skipped && n.status !== 'current') settled = false;
  }
  return { rootWorkflowId, nodes, counts, settled };
}

/** Runs `visit` over `initial` and everything it returns, at most `limit` at a time, oldest first. */
async function runPool<T>(initial: T[], limit: number, visit: (item: T) => Promise<T[]>): Promise<void> {
  const queue = [...initial];
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  while ((queue.length > 0 && !failure) || running.size > 0) {
    while (queue.length > 0 && running.size < limit && !failure) {
      const item = queue.shift()!;
      const task: Promise<void> = visit(item).then(
        (next) => {
          queue.push(...next);
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      const tracked = task.finally(() => running.delete(tracked));
      running.add(tracked);
    }
    if (running.size > 0) await Promise.race(running);
  }
  if (failure) throw failure.error;
}

function classify(err: unknown, entry: TreeChildInfo | null): NonNullable<ApiTokenTreeNode['unreachable']> {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; cause?: { code?: unknown } };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.name === 'WorkflowNotFoundError') {
    return { reason: entry?.state === 'starting' ? 'not_started' : 'not_found', message };
  }
  if (e?.name === 'QueryNotRegisteredError') return { reason: 'not_stateful', message };
  // A stopped worker looks like one of two things: no answer before the deadline (DEADLINE_EXCEEDED, or
  // the server's CANCEL at the deadline: see infoReader); or, once the server noticed its pollers are
  // gone, FAILED_PRECONDITION (9) "no poller seen" at once.
  const grpcCodes = [e?.code, e?.cause?.code];
  if (err instanceof NoAnswerInTime || grpcCodes.includes(4)) {
    return { reason: 'no_response', message: 'no answer in time (is a worker polling its task queue?)' };
  }
  const cause = e?.cause as { details?: unknown; message?: unknown } | undefined;
  const said = [message, cause?.details, cause?.message].filter((x) => typeof x === 'string').join(' ');
  if (grpcCodes.some((code) => isNoPollerSeen(code, said))) {
    return {
      reason: 'no_response',
      message: 'no worker is polling its task queue (the server has seen none lately)',
    };
  }
  return { reason: 'query_failed', message };
}

/** A query that ran out of its deadline, whichever end of the connection noticed first. */
class NoAnswerInTime extends Error {
  constructor(cause: unknown) {
    super('no answer before the deadline', { cause });
    this.name = 'NoAnswerInTime';
  }
}

/** Reads `apiTokenInfo` through `client`, each query bounded by `timeoutMs`. */
function infoReader(client: Client, timeoutMs: number): ApiTokenInfoReader {
  return async (workflowId) => {
    const deadline = Date.now() + timeoutMs;
    try {
      return await client.withDeadline(deadline, () =>
        client.workflow.getHandle(workflowId).query(apiTokenInfoQuery),
      );
    } catch (err) {
      // Only here is the deadline known: the server's CANCEL at the deadline (CANCELLED, 1) means the
      // same as grpc-js's own DEADLINE_EXCEEDED, and must not read as a failed query.
      if (ranOutOfDeadline(grpcStatusOf(err)?.code, deadline)) throw new NoAnswerInTime(err);
      throw err;
    }
  };
}

function durationMs(value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = msToNumber(value);
  } catch (cause) {
    throw new TreeError('tree.invalid_option', `not a duration: ${JSON.stringify(value)}`, { cause });
  }
  if (!Number.isFinite(ms) || ms < 0) {
    throw new TreeError('tree.invalid_option', `a duration must be 0 or more, got ${JSON.stringify(value)}`);
  }
  return ms;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TreeError('tree.invalid_option', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
