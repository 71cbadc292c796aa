// Temporal's JSON form of `temporal.api.common.v1.Payloads`, as a remote codec receives and answers it:
// `{ "payloads": [ { "metadata": { "encoding": "<base64>" }, "data": "<base64>" } ] }`. That is what
// the Go SDK's remote codec (used by the `temporal` CLI) and the Web UI send; the Go side parses the
// answer with protojson, which refuses unknown fields, so the answer holds exactly these fields.
import type { Payload } from '@temporalio/common';
import { CodecServerError } from './codec-server-errors.js';

// protojson writes standard base64 and reads both alphabets, padded or not; so does this parser.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Parses a request body into payloads; a malformed one is refused naming the field, never its value. */
export function parsePayloadsJson(body: string): Payload[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw invalid('the body is not JSON');
  }
  if (!isRecord(value)) throw invalid('the body must be a JSON object { "payloads": [...] }');
  // Go's encoding/json omits an empty list, so `{}` is a request with no payloads.
  const list = value.payloads ?? [];
  if (!Array.isArray(list)) throw invalid('"payloads" must be an array');
  return list.map((item, i) => parsePayload(item, `payloads[${i}]`));
}

/** The answer body for `payloads`, in the same form. */
export function formatPayloadsJson(payloads: readonly Payload[]): string {
  return JSON.stringify({
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([key, value]) => [key, toBase64(value ?? new Uint8Array())]),
      ),
      data: toBase64(p.data ?? new Uint8Array()),
    })),
  });
}

function parsePayload(item: unknown, path: string): Payload {
  if (!isRecord(item)) throw invalid(`${path} must be an object`);
  const metadata: Record<string, Uint8Array> = {};
  if (item.metadata !== undefined && item.metadata !== null) {
    if (!isRecord(item.metadata)) throw invalid(`${path}.metadata must be an object`);
    for (const [key, encoded] of Object.entries(item.metadata)) {
      metadata[key] = fromBase64(encoded, `${path}.metadata[${JSON.stringify(key.slice(0, 64))}]`);
    }
  }
  const data =
    item.data === undefined || item.data === null ? new Uint8Array() : fromBase64(item.data, `${path}.data`);
  return { metadata, data };
}

function fromBase64(value: unknown, path: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) throw invalid(`${path} must be a base64 string`);
  // Buffer decodes both alphabets; a copy so the bytes do not share the decoder's pooled buffer.
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): CodecServerError {
  return new CodecServerError('codec_server.invalid_request', message);
}
