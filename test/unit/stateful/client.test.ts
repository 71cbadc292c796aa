import type { Client, WorkflowHandle } from '@temporalio/client';
import { describe, expect, it, vi } from 'vitest';
import { getApiToken, getApiTokenInfo, rotateApiToken, startParent } from '../../../src/stateful/client.js';

function fakeClient() {
  const handle = {
    workflowId: 'wf-1',
    signal: vi.fn(async () => {}),
    query: vi.fn(async (def: { name: string }) => (def.name === 'apiToken' ? 'tok' : { version: 3 })),
  };
  const start = vi.fn(async () => handle);
  const getHandle = vi.fn(() => handle);
  const client = { workflow: { start, getHandle } } as unknown as Client;
  return { client, handle: handle as unknown as WorkflowHandle, raw: handle, start, getHandle };
}

describe('startParent', () => {
  it('hands the first token to the root as version 1 in its start input', async () => {
    const { client, start } = fakeClient();
    await startParent(client, 'catalogSync', {
      taskQueue: 'q',
      workflowId: 'root',
      input: { shards: 2 },
      apiToken: 'secret',
    });
    expect(start).toHaveBeenCalledWith('catalogSync', {
      taskQueue: 'q',
      workflowId: 'root',
      args: [{ shards: 2 }, { apiToken: { token: 'secret', version: 1 } }],
    });
  });

  it('starts without a handoff when no token is given', async () => {
    const { client, start } = fakeClient();
    await startParent(client, 'catalogSync', { taskQueue: 'q', workflowId: 'root', input: 1 });
    expect(start).toHaveBeenCalledWith('catalogSync', { taskQueue: 'q', workflowId: 'root', args: [1] });
  });

  it('rejects an empty token without contacting the server', async () => {
    const { client, start } = fakeClient();
    await expect(
      startParent(client, 'x', { taskQueue: 'q', workflowId: 'root', input: 1, apiToken: '' }),
    ).rejects.toThrow(/options\.apiToken must be a non-empty string/);
    expect(start).not.toHaveBeenCalled();
  });
});

describe('rotateApiToken', () => {
  it('sends the raw token with the apiToken signal, through a handle or a client and workflow id', async () => {
    const { client, handle, raw, getHandle } = fakeClient();
    await rotateApiToken(handle, 'new-token');
    await rotateApiToken(client, 'wf-2', 'newer-token');
    expect(getHandle).toHaveBeenCalledWith('wf-2');
    expect(raw.signal.mock.calls).toEqual([
      [expect.objectContaining({ name: 'apiToken', type: 'signal' }), 'new-token'],
      [expect.objectContaining({ name: 'apiToken', type: 'signal' }), 'newer-token'],
    ]);
  });

  it('refuses a non-string token with a message that does not echo the value', async () => {
    const { handle } = fakeClient();
    const attempt = rotateApiToken(handle, { token: 'do-not-print' } as unknown as string);
    await expect(attempt).rejects.toThrow(TypeError);
    await expect(attempt).rejects.not.toThrow(/do-not-print/);
  });
});

describe('getApiToken / getApiTokenInfo', () => {
  it('use the apiToken and apiTokenInfo queries', async () => {
    const { client, handle } = fakeClient();
    await expect(getApiToken(handle)).resolves.toBe('tok');
    await expect(getApiTokenInfo(client, 'wf-1')).resolves.toEqual({ version: 3 });
  });
});
