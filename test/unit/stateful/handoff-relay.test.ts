import { asyncLocalStorage, type Context } from '@temporalio/activity';
import {
  type Client,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { describe, expect, it, vi } from 'vitest';
import {
  MAX_UPDATES_IN_FLIGHT,
  relayApiTokenHandoffs,
  statefulWorkflowActivities,
} from '../../../src/stateful/handoff-relay.js';
import {
  API_TOKEN_HANDOFF_SIGNAL,
  API_TOKEN_HANDOFF_UPDATE,
  RELAY_HANDOFF_ACTIVITY,
} from '../../../src/stateful/messages.js';

const envelope = { token: 'tok-relay', version: 7 };

/** How a mocked child answers the update form of the handoff. */
type UpdateAnswer = 'take' | 'reject' | 'closed' | 'denied' | 'unavailable' | 'late';

/**
 * A client whose signal to a workflow does `answer(workflowId)` and whose handoff update does what
 * `update(workflowId)` says (by default every child rejects it, as a child with children does); what
 * the real server answers is in the integration tests (stateful-tree, authorization).
 */
function clientAnswering(
  answer: (workflowId: string) => Promise<void>,
  update: (workflowId: string) => UpdateAnswer = () => 'reject',
) {
  const signals: { workflowId: string; name: string; arg: unknown }[] = [];
  const updates: { workflowId: string; name: string; arg: unknown; updateId: string | undefined }[] = [];
  const deadlines: number[] = [];
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
    executeUpdate: async (name: string, options: { args: unknown[]; updateId?: string }) => {
      updates.push({ workflowId, name, arg: options.args[0], updateId: options.updateId });
      const how = update(workflowId);
      await new Promise((resolve) => setImmediate(resolve));
      if (how === 'reject') throw new WorkflowUpdateFailedError('rejected', new Error('hands it on'));
      if (how === 'closed') throw new WorkflowNotFoundError('workflow not found', workflowId, undefined);
      if (how === 'denied') throw grpcFailure(7);
      if (how === 'unavailable') throw grpcFailure(14);
      if (how === 'late')
        throw new WorkflowUpdateRPCTimeoutOrCancelledError('deadline', { cause: grpcFailure(4) });
      return { version: envelope.version };
    },
  }));
  const connection = {
    withDeadline: <R>(deadline: number, fn: () => Promise<R>) => {
      deadlines.push(deadline);
      return fn();
    },
  };
  return {
    client: { workflow: { getHandle }, connection } as unknown as Client,
    signals,
    updates,
    deadlines,
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
  it('signals each child that rejects the update on the reserved handoff signal and reports each outcome in order', async () => {
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

  it('hands children their token by update and sends the signal only to those that rejected it', async () => {
    const { client, signals, updates, deadlines } = clientAnswering(
      async () => {},
      // A child on a release without the handler rejects the update, as one whose validator does.
      (id) => (id.startsWith('leaf') ? 'take' : 'reject'),
    );
    const before = Date.now();
    const outcomes = await relayApiTokenHandoffs(client, ['leaf-1', 'parent-1', 'leaf-2'], envelope, {
      byUpdate: true,
    });
    expect(outcomes).toEqual(['delivered', 'delivered', 'delivered']);
    expect(updates.map((u) => u.workflowId).sort()).toEqual(['leaf-1', 'leaf-2', 'parent-1']);
    expect(updates.every((u) => u.name === API_TOKEN_HANDOFF_UPDATE && u.arg === envelope)).toBe(true);
    expect(signals.map((s) => s.workflowId)).toEqual(['parent-1']);
    // Each update has a deadline, so a child on a stuck worker costs a few seconds, not the activity.
    expect(deadlines).toHaveLength(3);
    for (const d of deadlines) expect(d).toBeGreaterThan(before);
  });

  it('reports a closed or refused child from the update without signalling it, and signals after any other failure', async () => {
    const answers: Record<string, UpdateAnswer> = {
      'closed-1': 'closed',
      'denied-1': 'denied',
      'down-1': 'unavailable',
    };
    const { client, signals } = clientAnswering(
      async () => {},
      (id) => answers[id] ?? 'take',
    );
    const outcomes = await relayApiTokenHandoffs(client, ['closed-1', 'denied-1', 'down-1'], envelope, {
      byUpdate: true,
    });
    expect(outcomes).toEqual(['closed', 'refused', 'delivered']);
    expect(signals.map((s) => s.workflowId)).toEqual(['down-1']);
  });

  it('sends an update that ran out of time again under the same id, and signals after the third', async () => {
    const late = new Map([
      ['slow-1', 2],
      ['stuck-1', 3],
    ]);
    const { client, signals, updates } = clientAnswering(
      async () => {},
      (id) => {
        const left = late.get(id) ?? 0;
        late.set(id, left - 1);
        return left > 0 ? 'late' : 'take';
      },
    );
    const outcomes = await relayApiTokenHandoffs(client, ['slow-1', 'stuck-1'], envelope, { byUpdate: true });
    expect(outcomes).toEqual(['delivered', 'delivered']);
    const idsOf = (workflowId: string) =>
      updates.filter((u) => u.workflowId === workflowId).map((u) => u.updateId);
    // The server joins a repeated call to the update it holds: one id per child and version.
    expect(idsOf('slow-1')).toEqual([
      `${API_TOKEN_HANDOFF_UPDATE}-${envelope.version}`,
      `${API_TOKEN_HANDOFF_UPDATE}-${envelope.version}`,
      `${API_TOKEN_HANDOFF_UPDATE}-${envelope.version}`,
    ]);
    expect(idsOf('stuck-1')).toHaveLength(3);
    expect(signals.map((s) => s.workflowId)).toEqual(['stuck-1']);
  });

  it('signals only, without trying the update, unless asked to hand off by update', async () => {
    const { client, signals, updates } = clientAnswering(
      async () => {},
      () => 'take',
    );
    await expect(relayApiTokenHandoffs(client, ['leaf-1', 'leaf-2'], envelope)).resolves.toEqual([
      'delivered',
      'delivered',
    ]);
    expect(updates).toEqual([]);
    expect(signals.map((s) => s.workflowId).sort()).toEqual(['leaf-1', 'leaf-2']);
  });

  it(`keeps at most ${MAX_UPDATES_IN_FLIGHT} updates in flight over all relays of the process; the rest wait, none falls back`, async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { client, signals } = clientAnswering(
      async () => {},
      () => 'take',
    );
    // Each update takes a few turns of the event loop, so many overlap.
    const getHandle = client.workflow.getHandle.bind(client.workflow);
    (client.workflow as { getHandle: unknown }).getHandle = (id: string) => {
      const handle = getHandle(id);
      return {
        ...handle,
        executeUpdate: async (...args: Parameters<typeof handle.executeUpdate>) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
            return await handle.executeUpdate(...args);
          } finally {
            inFlight--;
          }
        },
      };
    };
    // More relays than the bound admits at once, each with 32 lanes.
    const relayCount = MAX_UPDATES_IN_FLIGHT / 32 + 8;
    const relays = Array.from({ length: relayCount }, (_, r) =>
      relayApiTokenHandoffs(
        client,
        Array.from({ length: 32 }, (_, i) => `p${r}.c${i}`),
        envelope,
        { byUpdate: true },
      ),
    );
    const outcomes = await Promise.all(relays);
    expect(outcomes.flat()).toHaveLength(relayCount * 32);
    expect(outcomes.flat().every((o) => o === 'delivered')).toBe(true);
    expect(maxInFlight).toBe(MAX_UPDATES_IN_FLIGHT);
    expect(signals).toEqual([]);
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

  it('heartbeats while a relay outlasts 10 s, and not for a short one', async () => {
    vi.useFakeTimers();
    try {
      let answer!: () => void;
      const slow = new Promise<void>((resolve) => {
        answer = resolve;
      });
      const { client } = clientAnswering(() => slow);
      const heartbeat = vi.fn();
      const context = { client, heartbeat } as unknown as Context;
      const relay = asyncLocalStorage.run(context, () =>
        statefulWorkflowActivities[RELAY_HANDOFF_ACTIVITY](['child-3'], envelope),
      );
      await vi.advanceTimersByTimeAsync(9_000);
      expect(heartbeat).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(12_000);
      expect(heartbeat).toHaveBeenCalledTimes(2);
      answer();
      await expect(relay).resolves.toEqual(['delivered']);
      await vi.advanceTimersByTimeAsync(30_000);
      expect(heartbeat).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('says it must run as an activity when called outside one', async () => {
    await expect(
      statefulWorkflowActivities[RELAY_HANDOFF_ACTIVITY](['child-2'], envelope),
    ).rejects.toMatchObject({
      code: 'stateful.wrong_context',
    });
  });
});
