import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { CodecServerError } from '../../../src/codec/codec-server-errors.js';
import { formatPayloadsJson, parsePayloadsJson } from '../../../src/codec/payloads-json.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('Temporal JSON payloads', () => {
  it('parses what the Go SDK remote codec sends and formats it back the same way', () => {
    // encoding/json output of commonpb.Payloads: standard base64 for metadata values and data.
    const body = JSON.stringify({
      payloads: [
        { metadata: { encoding: b64('json/plain') }, data: b64('{"a":1}') },
        { metadata: { encoding: b64('binary/null') } },
      ],
    });
    const payloads = parsePayloadsJson(body);
    expect(payloads).toHaveLength(2);
    expect(defaultPayloadConverter.fromPayload(payloads[0]!)).toEqual({ a: 1 });
    expect(defaultPayloadConverter.fromPayload(payloads[1]!)).toBeUndefined();
    expect(JSON.parse(formatPayloadsJson(payloads))).toEqual({
      payloads: [
        { metadata: { encoding: b64('json/plain') }, data: b64('{"a":1}') },
        { metadata: { encoding: b64('binary/null') }, data: '' },
      ],
    });
  });

  it('reads URL-safe and unpadded base64 too (protojson accepts both)', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe]);
    const [payload] = parsePayloadsJson(
      JSON.stringify({ payloads: [{ metadata: {}, data: bytes.toString('base64url') }] }),
    );
    expect(Buffer.from(payload!.data!)).toEqual(bytes);
  });

  it('takes {} as no payloads (Go omits an empty list)', () => {
    expect(parsePayloadsJson('{}')).toEqual([]);
  });

  it.each([
    ['not JSON', 'payloads', 'the body is not JSON'],
    ['a JSON array', '[]', 'must be a JSON object'],
    ['payloads not an array', '{"payloads":{}}', '"payloads" must be an array'],
    ['a payload that is not an object', '{"payloads":[1]}', 'payloads[0] must be an object'],
    ['metadata not an object', '{"payloads":[{"metadata":[]}]}', 'payloads[0].metadata must be an object'],
    [
      'a metadata value that is not base64',
      '{"payloads":[{"metadata":{"encoding":"not base64!"}}]}',
      'payloads[0].metadata["encoding"] must be a base64 string',
    ],
    ['data that is not a string', '{"payloads":[{"data":12}]}', 'payloads[0].data must be a base64 string'],
  ])('refuses %s, naming the field but not its value', (_, body, message) => {
    let caught: unknown;
    try {
      parsePayloadsJson(body);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CodecServerError);
    expect((caught as CodecServerError).code).toBe('codec_server.invalid_request');
    expect((caught as CodecServerError).status).toBe(400);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toContain('not base64!');
  });
});
