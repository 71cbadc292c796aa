import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  type ApiTokenInfoReader,
  getApiTokenTree,
  type TreeChildInfo,
  TreeError,
  type TreeNodeInfo,
  waitForTree,
  walkApiTokenTree,
} from '../../../src/stateful/tree.js';
import { sleep } from '../../support/wait.js';

type Fake = Record<string, TreeNodeInfo | Error>;

function child(workflowId: string, over: Partial<TreeChildInfo> = {}): TreeChildInfo {
  return {
    workflowId,
    workflowType: 'treeNode',
    propagate: true,
    state: 'running',
    sentVersion: 5,
    confirmedVersion: 5,
    ...over,
  };
}

function info(
  version: number,
  childList: TreeChildInfo[] = [],
  parentWorkflowId: string | null = null,
): TreeNodeInfo {
  return {
    version,
    fingerprint: version ? `fp${version}` : null,
    updatedAt: version ? '2026-01-01T00:00:00.000Z' : null,
    workflowType: 'treeNode',
    parentWorkflowId,
    childList,
  };
}

/** A reader over a fixed map, recording the order of calls and the most queries in flight at once. */
function fakeReader(nodes: Fake, delayMs = 0) {
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const read: ApiTokenInfoReader = async (workflowId) => {
    calls.push(workflowId);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await sleep(delayMs);
      const answer = nodes[workflowId];
      if (answer === undefined) throw new WorkflowNotFoundError('not found', workflowId, undefined);
      if (answer instanceof Error) throw answer;
      return answer;
    } finally {
      inFlight -= 1;
    }
  };
  return { read, calls, maxInFlight: () => maxInFlight };
}

/** The server's answer once it noticed a task queue's pollers are gone, as the Temporal client wraps it. */
function noPollerSeen(): Error {
  return Object.assign(new Error('Failed to query Workflow'), {
    name: 'ServiceError',
    cause: { code: 9, details: 'no poller seen for task queue recently, worker may be down' },
  });
}

/** A gRPC deadline failure as the Temporal client wraps it. */
function deadlineExceeded(): Error {
  return Object.assign(new Error('Failed to query Workflow'), { name: 'ServiceError', cause: { code: 4 } });
}

describe('walkApiTokenTree', () => {
  const tree: Fake = {
    root: info(5, [
      child('root.c0'),
      child('root.c1', { sentVersion: 5, confirmedVersion: 3 }),
      child('root.c2', { propagate: false, sentVersion: 0, confirmedVersion: 0 }),
      child('root.c3', { state: 'skipped', sentVersion: 3, confirmedVersion: 3 }),
      child('root.c4', { state: 'starting', sentVersion: 0, confirmedVersion: 0 }),
    ]),
    'root.c0': info(5, [child('root.c0.c0', { sentVersion: 5, confirmedVersion: 4 })], 'root'),
    'root.c0.c0': info(5, [], 'root.c0'),
    'root.c1': info(3, [child('root.c1.c0', { sentVersion: 3, confirmedVersion: 3 })], 'root'),
    'root.c1.c0': info(3, [], 'root.c1'),
    'root.c2': info(0, [child('root.c2.c0', { sentVersion: 0, confirmedVersion: 0 })], 'root'),
    'root.c2.c0': info(0, [], 'root.c2'),
    'root.c3': info(3, [], 'root'),
    // root.c4 is still starting: the server does not know it yet.
  };

  it('returns every node, parent before children, with status, exclusion, skip and confirmation', async () => {
    const { read } = fakeReader(tree);
    const result = await walkApiTokenTree(read, 'root');
    expect(result.nodes.map((n) => [n.workflowId, n.depth, n.status])).toEqual([
      ['root', 0, 'current'],
      ['root.c0', 1, 'current'],
      ['root.c0.c0', 2, 'current'],
      ['root.c1', 1, 'lagging'],
      // Current relative to its own parent, which lags.
      ['root.c1.c0', 2, 'current'],
      ['root.c2', 1, 'current'],
      ['root.c2.c0', 2, 'current'],
      ['root.c3', 1, 'lagging'],
      ['root.c4', 1, 'unreachable'],
    ]);
    const byId = Object.fromEntries(result.nodes.map((n) => [n.workflowId, n]));
    expect(byId.root).toMatchObject({
      parentWorkflowId: null,
      confirmed: null,
      sentVersion: null,
      version: 5,
    });
    expect(byId['root.c0']).toMatchObject({ parentWorkflowId: 'root', confirmed: true, fingerprint: 'fp5' });
    // Holds the version, but its parent has no confirmation of it yet.
    expect(byId['root.c0.c0']).toMatchObject({ status: 'current', confirmed: false, confirmedVersion: 4 });
    expect(byId['root.c1']).toMatchObject({ confirmed: false, sentVersion: 5, confirmedVersion: 3 });
    expect(byId['root.c2']).toMatchObject({ excluded: true, confirmed: null });
    expect(byId['root.c2.c0']).toMatchObject({ excluded: true, confirmed: null });
    expect(byId['root.c3']).toMatchObject({ skipped: true });
    expect(byId['root.c4']).toMatchObject({
      version: null,
      workflowType: 'treeNode',
      unreachable: { reason: 'not_started' },
    });
    expect(result.counts).toEqual({
      total: 9,
      current: 6,
      lagging: 2,
      unreachable: 1,
      excluded: 2,
      skipped: 1,
    });
    expect(result.settled).toBe(false);
  });

  it('is settled when only excluded or skipped nodes are behind', async () => {
    const { read } = fakeReader({
      root: info(5, [child('a'), child('x', { propagate: false }), child('s', { state: 'skipped' })]),
      a: info(5),
      x: info(0),
      s: info(2),
    });
    const result = await walkApiTokenTree(read, 'root');
    expect(result.settled).toBe(true);
    expect(result.counts.lagging).toBe(1); // the skipped one: shown, but nothing can catch it up
  });

  it('counts an opted-in node that does not answer against settling, with the reason', async () => {
    const { read } = fakeReader({
      root: info(5, [child('a'), child('b'), child('c'), child('d'), child('e')]),
      a: deadlineExceeded(),
      b: Object.assign(new Error('query not registered'), { name: 'QueryNotRegisteredError' }),
      c: new Error('boom'),
      // A stopped worker, once the server noticed: the same reason as a timeout.
      d: noPollerSeen(),
      // Another failed precondition is not a missing worker.
      e: Object.assign(new Error('Failed to query Workflow'), {
        name: 'ServiceError',
        cause: { code: 9, details: 'workflow is busy' },
      }),
    });
    const result = await walkApiTokenTree(read, 'root');
    expect(result.nodes.slice(1).map((n) => n.unreachable?.reason)).toEqual([
      'no_response',
      'not_stateful',
      'query_failed',
      'no_response',
      'query_failed',
    ]);
    expect(result.settled).toBe(false);
  });

  it('queries breadth-first and keeps at most `concurrency` queries in flight', async () => {
    // 1 + 4 + 16 nodes.
    const nodes: Fake = {};
    const ids = (parent: string) => [0, 1, 2, 3].map((i) => `${parent}.${i}`);
    nodes.r = info(
      1,
      ids('r').map((id) => child(id)),
    );
    for (const id of ids('r')) {
      nodes[id] = info(
        1,
        ids(id).map((c) => child(c)),
      );
      for (const leaf of ids(id)) nodes[leaf] = info(1);
    }
    const one = fakeReader(nodes);
    await walkApiTokenTree(one.read, 'r', { concurrency: 1 });
    const depthOf = (id: string) => id.split('.').length - 1;
    expect(one.calls.map(depthOf)).toEqual([...one.calls.map(depthOf)].sort());
    expect(one.maxInFlight()).toBe(1);

    const three = fakeReader(nodes, 5);
    const result = await walkApiTokenTree(three.read, 'r', { concurrency: 3 });
    expect(result.nodes).toHaveLength(21);
    expect(three.calls).toHaveLength(21);
    expect(three.maxInFlight()).toBe(3);
  });

  it('throws tree.workflow_not_found when the root does not exist', async () => {
    const { read } = fakeReader({});
    const attempt = walkApiTokenTree(read, 'missing');
    await expect(attempt).rejects.toBeInstanceOf(TreeError);
    await expect(attempt).rejects.toMatchObject({ code: 'tree.workflow_not_found' });
  });

  it('returns an unanswering root as an unsettled one-node tree', async () => {
    const { read } = fakeReader({ root: deadlineExceeded() });
    const result = await walkApiTokenTree(read, 'root');
    expect(result.nodes).toEqual([
      expect.objectContaining({ workflowId: 'root', status: 'unreachable', version: null }),
    ]);
    expect(result.settled).toBe(false);
  });

  it('treats an answer without childList (an older release) as a leaf', async () => {
    const { read } = fakeReader({ root: { version: 2, fingerprint: 'fp', updatedAt: null } });
    const result = await walkApiTokenTree(read, 'root');
    expect(result.nodes).toEqual([
      expect.objectContaining({ workflowId: 'root', workflowType: null, status: 'current' }),
    ]);
  });

  it('walks a workflow id once even when it appears twice', async () => {
    const { read, calls } = fakeReader({
      root: info(1, [child('a'), child('b')]),
      a: info(1, [child('root'), child('b')]),
      b: info(1),
    });
    const result = await walkApiTokenTree(read, 'root');
    expect(result.nodes.map((n) => n.workflowId)).toEqual(['root', 'a', 'b']);
    expect(calls.sort()).toEqual(['a', 'b', 'root']);
  });

  it('refuses a tree larger than maxNodes, and bad options', async () => {
    const { read } = fakeReader({
      root: info(1, [child('a'), child('b'), child('c')]),
      a: info(1),
      b: info(1),
      c: info(1),
    });
    await expect(walkApiTokenTree(read, 'root', { maxNodes: 3 })).rejects.toMatchObject({
      code: 'tree.too_large',
    });
    await expect(walkApiTokenTree(read, 'root', { maxNodes: 4 })).resolves.toMatchObject({
      counts: { total: 4 },
    });
    await expect(walkApiTokenTree(read, 'root', { concurrency: 0 })).rejects.toMatchObject({
      code: 'tree.invalid_option',
    });
  });
});

describe('getApiTokenTree', () => {
  /**
   * A client whose query fails with gRPC `code` after `afterMs`: what grpc-js gives when the server's
   * deadline timer resets the stream (CANCELLED, 1) before the client's own timer fires.
   */
  function failingClient(code: number, afterMs: number): { client: Client; deadlines: number[] } {
    const deadlines: number[] = [];
    const fake = {
      withDeadline: (deadline: number, fn: () => Promise<unknown>) => {
        deadlines.push(deadline);
        return fn();
      },
      workflow: {
        getHandle: () => ({
          query: async () => {
            await sleep(afterMs);
            throw Object.assign(new Error('Failed to query Workflow'), {
              name: 'ServiceError',
              cause: { code, details: 'Call cancelled' },
            });
          },
        }),
      },
    };
    return { client: fake as unknown as Client, deadlines };
  }

  it("counts the server's CANCEL at the query deadline as no answer in time, like DEADLINE_EXCEEDED", async () => {
    const { client, deadlines } = failingClient(1, 80);
    const tree = await getApiTokenTree(client, 'root', { queryTimeout: '50ms' });
    expect(deadlines).toHaveLength(1);
    expect(tree.nodes[0]?.unreachable).toMatchObject({ reason: 'no_response' });
  });

  it('keeps a CANCELLED before the deadline a failed query', async () => {
    const { client } = failingClient(1, 0);
    const tree = await getApiTokenTree(client, 'root', { queryTimeout: '5s' });
    expect(tree.nodes[0]?.unreachable).toMatchObject({
      reason: 'query_failed',
      message: 'Failed to query Workflow',
    });
  });
});

describe('waitForTree', () => {
  it('walks until no opted-in node lags, then reports settled', async () => {
    let walks = 0;
    const readerFor = () => {
      walks += 1;
      // The child catches up on the third walk.
      const childVersion = walks >= 3 ? 5 : 4;
      return fakeReader({ root: info(5, [child('a')]), a: info(childVersion) }).read;
    };
    const { tree, settled } = await waitForTree(readerFor, 'root', { timeout: 5_000, interval: 1 });
    expect(settled).toBe(true);
    expect(walks).toBe(3);
    expect(tree.nodes.every((n) => n.status === 'current')).toBe(true);
  });

  it('gives up after the timeout with the last tree, unsettled', async () => {
    let walks = 0;
    const readerFor = () => {
      walks += 1;
      return fakeReader({ root: info(5, [child('a')]), a: info(4) }).read;
    };
    const started = Date.now();
    const { tree, settled } = await waitForTree(readerFor, 'root', { timeout: '200ms', interval: '20ms' });
    expect(settled).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(walks).toBeGreaterThan(1);
    expect(tree.nodes[1]).toMatchObject({ workflowId: 'a', status: 'lagging' });
  });

  it('gives the reader the deadline, so a slow node cannot hold the wait past it', async () => {
    const deadlines: number[] = [];
    const readerFor = (deadline: number) => {
      deadlines.push(deadline);
      return fakeReader({ root: info(5) }).read;
    };
    const before = Date.now();
    await waitForTree(readerFor, 'root', { timeout: 10_000 });
    expect(deadlines[0]).toBeGreaterThanOrEqual(before + 10_000);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const readerFor = () => fakeReader({ root: info(5, [child('a')]), a: info(4) }).read;
    const waiting = waitForTree(readerFor, 'root', {
      timeout: 10_000,
      interval: 50,
      signal: controller.signal,
    });
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
