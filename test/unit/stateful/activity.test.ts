import { asyncLocalStorage, type Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { describe, expect, it, vi } from 'vitest';
import { currentApiAccess } from '../../../src/stateful/activity.js';
import type { ApiAccess } from '../../../src/stateful/messages.js';

/** Runs `fn` as if inside an activity scheduled by workflow `workflowId` (or a standalone one). */
function inActivity<T>(
  workflowId: string | undefined,
  fn: () => Promise<T>,
  cancellationSignal: AbortSignal = new AbortController().signal,
): Promise<T> {
  const info = { workflowExecution: workflowId ? { workflowId, runId: 'run' } : undefined };
  return asyncLocalStorage.run({ info, cancellationSignal } as unknown as Context, fn);
}

/**
 * A client whose apiAccess query gives `answer()`. Like Temporal's, `withAbortSignal` makes the calls
 * inside it fail once the signal aborts (the real one cancels the gRPC call).
 */
function clientAnswering(answer: () => Promise<ApiAccess | null>) {
  let signal: AbortSignal | undefined;
  const query = vi.fn(async () => {
    const current = signal;
    const aborted = new Promise<never>((_, reject) => {
      if (current?.aborted) reject(new Error('cancelled'));
      current?.addEventListener('abort', () => reject(new Error('cancelled')));
    });
    return Promise.race([answer(), aborted]);
  });
  const getHandle = vi.fn(() => ({ query }));
  const withAbortSignal = vi.fn(async <R>(s: AbortSignal, fn: () => Promise<R>) => {
    signal = s;
    try {
      return await fn();
    } finally {
      signal = undefined;
    }
  });
  return { client: { workflow: { getHandle }, withAbortSignal } as unknown as Client, getHandle, query };
}

describe('currentApiAccess', () => {
  it('asks the workflow that scheduled the activity, at call time, by the apiAccess query', async () => {
    let version = 1;
    const { client, getHandle, query } = clientAnswering(async () => ({
      token: `t${version}`,
      version,
      apiUrl: 'https://api.example.test',
    }));
    await inActivity('wf-7', async () => {
      await expect(currentApiAccess(client)).resolves.toMatchObject({ token: 't1', version: 1 });
      version = 2; // a rotation between two attempts
      await expect(currentApiAccess(client)).resolves.toMatchObject({ token: 't2', version: 2 });
    });
    expect(getHandle).toHaveBeenCalledWith('wf-7');
    expect(query).toHaveBeenCalledWith(expect.objectContaining({ name: 'apiAccess', type: 'query' }));
  });

  it('fails with stateful.no_api_token while the workflow holds no token', async () => {
    const { client } = clientAnswering(async () => null);
    await expect(inActivity('wf-7', () => currentApiAccess(client))).rejects.toMatchObject({
      code: 'stateful.no_api_token',
      message: expect.stringContaining('wf-7'),
    });
  });

  it('fails with stateful.workflow_unreachable when the query fails', async () => {
    const { client } = clientAnswering(async () => {
      throw new Error('no poller');
    });
    await expect(inActivity('wf-7', () => currentApiAccess(client))).rejects.toMatchObject({
      code: 'stateful.workflow_unreachable',
    });
  });

  it("gives up the query when the activity is cancelled (a worker shutting down), so shutdown does not wait out the query's deadline", async () => {
    const { client } = clientAnswering(() => new Promise<never>(() => {}));
    const cancel = new AbortController();
    const asked = inActivity('wf-7', () => currentApiAccess(client), cancel.signal);
    const cancellation = new Error('CancelledFailure stand-in');
    cancel.abort(cancellation);
    // Rethrown as is: the worker records a cancelled attempt, not a failure.
    await expect(asked).rejects.toBe(cancellation);
  });

  it('fails with stateful.wrong_context outside an activity or in a standalone one', async () => {
    const { client, getHandle } = clientAnswering(async () => null);
    await expect(currentApiAccess(client)).rejects.toMatchObject({ code: 'stateful.wrong_context' });
    await expect(inActivity(undefined, () => currentApiAccess(client))).rejects.toMatchObject({
      code: 'stateful.wrong_context',
    });
    expect(getHandle).not.toHaveBeenCalled();
  });
});
