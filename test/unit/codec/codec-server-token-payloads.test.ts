import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { mayCarryApiToken } from '../../../src/codec/token-payloads.js';

const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value)!;
const raw = (encoding: string, data: string): Payload => ({
  metadata: { encoding: new TextEncoder().encode(encoding) },
  data: new TextEncoder().encode(data),
});
const jwt = 'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl';

describe('mayCarryApiToken', () => {
  it.each([
    ['the apiToken signal argument / apiToken query answer (an opaque key)', json('sk_live_4242')],
    ['a JWT as a bare string', json(jwt)],
    ['even prose: StatefulWorkflow accepts any non-empty string as a token', json('finished generation 0')],
    ['a parent handoff envelope', json({ token: 'opaque', version: 3 })],
    ['the start input handoff', json({ apiToken: { token: 'opaque', version: 1 } })],
    ['an apiAccess answer', json({ token: 'opaque', version: 2, apiUrl: null })],
    ['a credential key at any depth', json({ a: [{ b: { accessToken: 'x' } }] })],
    ['a credential key whatever its value', json({ clientSecret: null })],
    ['other credential names', json({ config: { API_KEY: 1 } })],
    ['a JWT inside a longer string', json({ message: `GET /x?t=${jwt} failed` })],
    ['a bearer credential in a string', json({ headers: ['Authorization: Bearer abc.def'] })],
    ['raw bytes', raw('binary/plain', 'anything')],
    ['binary protobuf', raw('binary/protobuf', '\u0008\u0001')],
    ['an unknown encoding', raw('text/x-custom', 'hello')],
    ['a payload encrypted again', raw('binary/encrypted', 'xx')],
    ['JSON that does not parse', raw('json/plain', '{"token"')],
    ['no encoding at all', { metadata: {}, data: new Uint8Array([1]) }],
    ['JSON nested past the depth limit', raw('json/plain', `${'['.repeat(70)}1${']'.repeat(70)}`)],
    ['JSON nested past the parser', raw('json/plain', `${'['.repeat(200_000)}${']'.repeat(200_000)}`)],
  ])('withholds %s', (_, payload) => {
    expect(mayCarryApiToken(payload)).toBe(true);
  });

  it.each([
    [
      'apiTokenInfo (metadata only)',
      json({
        version: 1_785_000_000_000,
        fingerprint: '3f2a9c1d0b7e4a55',
        updatedAt: '2026-07-01T10:00:00.000Z',
        workflowType: 'inventorySync',
        parentWorkflowId: null,
        children: { reached: 1, unconfirmed: 0, pending: 0, excluded: 1, skipped: 0 },
        childList: [
          {
            workflowId: 'inv.c0',
            workflowType: 'inventoryShard',
            propagate: true,
            state: 'running',
            sentVersion: 1,
            confirmedVersion: 1,
          },
        ],
      }),
    ],
    ['the ack a child sends its parent', json({ workflowId: 'w', version: 2, fingerprint: 'ab12' })],
    [
      'a workflow input without credentials',
      json({ depth: 2, fanout: 3, apiUrl: 'https://api.example.com' }),
    ],
    ['an empty string', json('')],
    ['null (binary/null)', json(null)],
    ['undefined (binary/null)', json(undefined)],
    ['a number', json(42)],
    ['a boolean', json(false)],
    ['JSON protobuf without credentials', raw('json/protobuf', '{"name":"x","count":2}')],
    ['a dotted version string inside an object', json({ release: '1.2.3', note: 'eyJ alone is not a JWT' })],
  ])('shows %s', (_, payload) => {
    expect(mayCarryApiToken(payload)).toBe(false);
  });

  it('stays linear on long runs that almost look like a JWT', () => {
    const hostile = json({ note: `${'eyJ'.repeat(300_000)}.${'eyJ'.repeat(300_000)}` });
    const started = performance.now();
    expect(mayCarryApiToken(hostile)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
