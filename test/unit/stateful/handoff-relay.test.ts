import { asyncLocalStorage, type Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it, vi } from 'vitest';
import { relayApiTokenHandoffs, statefulWorkflowActivities } from '../../../src/stateful/handoff-relay.js';
import { API_TOKEN_HANDOFF_SIGNAL, RELAY_HANDOFF_ACTIVITY } from '../../../src/stateful/messages.js';

const envelope = { token: 'tok-relay', version: 7 };

/**
 * A client whose signal to a workflow does `answer(workflowId)`; what the real server answers is in
 * the integration tests (stateful-tree, authorization).
 */
function clientAnswering(answer: (workflowId: string) => Promise<void>) {
  const signals: { workflowId: string; name: string; arg: unknown }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const getHandle = vi.fn((workflowId: string) => ({
    signal: async (name: string, arg: unknown) => {
      signals.push({ workflowId, name, arg });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((resolve) => setImmediate(resolve));
        await answer(workflowId);
      } finally {
        inFlight--;
      }
    },
  }));
  return {
    client: { workflow: { getHandle } } as unknown as Client,
    signals,
    maxInFlight: () => maxInFlight,
  };
}

/** A gRPC failure the way the Temporal client wraps one: a ServiceError whose cause has the status. */
function grpcFailure(code: number): Error {
  return new Error('service error', {
    cause: Object.assign(new Error('status'), { code, details: 'denied' }),
  });
}

describe('relayApiTokenHandoffs', () => {
  it('signals each child by workflow id on the reserved handoff signal and reports each outcome in order', async () => {
    const { client, signals } = clientAnswering(async (id) => {
      if (id === 'closed-1') throw new WorkflowNotFoundError('workflow not found', id, undefined);
      if (id === 'denied-1') throw grpcFailure(7);
      if (id === 'down-1') throw grpcFailure(14);
    });
    const ids = ['ok-1', 'closed-1', 'denied-1', 'down-1', 'ok-2'];
    await expect(relayApiTokenHandoffs(client, ids, envelope)).resolves.toEqual([
      'delivered',
      'closed',
      'refused',
      'failed',
      'delivered',
    ]);
    expect(signals.map((s) => s.workflowId).sort()).toEqual([...ids].sort());
    expect(signals.every((s) => s.name === API_TOKEN_HANDOFF_SIGNAL && s.arg === envelope)).toBe(true);
  });

  it('keeps at most 32 signals in flight for a parent with many children', async () => {
    const { client, signals, maxInFlight } = clientAnswering(async () => {});
    const ids = Array.from({ length: 100 }, (_, i) => `child-${i}`);
    const outcomes = await relayApiTokenHandoffs(client, ids, envelope);
    expect(outcomes).toEqual(ids.map(() => 'delivered'));
    expect(signals).toHaveLength(100);
    expect(maxInFlight()).toBe(32);
  });

  it('sends nothing for no children', async () => {
    const { client, signals } = clientAnswering(async () => {});
    await expect(relayApiTokenHandoffs(client, [], envelope)).resolves.toEqual([]);
    expect(signals).toEqual([]);
  });
});

describe('statefulWorkflowActivities', () => {
  it('registers the relay under the name StatefulWorkflow schedules', () => {
    expect(Object.keys(statefulWorkflowActivities)).toEqual([RELAY_HANDOFF_ACTIVITY]);
  });

  it("relays through the running activity's client", async () => {
    const { client, signals } = clientAnswering(async () => {});
    const context = { client } as unknown as Context;
    const outcomes = await asyncLocalStorage.run(context, () =>
      statefulWorkflowActivities[RELAY_HANDOFF_ACTIVITY](['child-2'], envelope),
    );
    expect(outcomes).toEqual(['delivered']);
    expect(signals).toEqual([{ workflowId: 'child-2', name: API_TOKEN_HANDOFF_SIGNAL, arg: envelope }]);
  });

  it('says it must run as an activity when called outside one', async () => {
    await expect(
      statefulWorkflowActivities[RELAY_HANDOFF_ACTIVITY](['child-2'], envelope),
    ).rejects.toMatchObject({
      code: 'stateful.wrong_context',
    });
  });
});
