// A Temporal Payload as bytes and back, so the whole payload (metadata included: it says how the data
// is encoded) is what gets encrypted. A small length-prefixed format instead of the protobuf encoding,
// so the codec needs no dependency beyond @temporalio/common.
import type { Payload } from '@temporalio/common';
import { CodecError } from './errors.js';

const FORMAT_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** `[version u8][entries u32]([keyLen u32][key][valueLen u32][value])*[data…]`, big-endian. */
export function payloadToBytes(payload: Payload): Uint8Array {
  const entries = Object.entries(payload.metadata ?? {}).map(
    ([key, value]) => [encoder.encode(key), value ?? new Uint8Array()] as const,
  );
  const data = payload.data ?? new Uint8Array();
  let size = 1 + 4 + data.length;
  for (const [key, value] of entries) size += 8 + key.length + value.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = FORMAT_VERSION;
  view.setUint32(1, entries.length);
  let at = 5;
  for (const [key, value] of entries) {
    view.setUint32(at, key.length);
    out.set(key, at + 4);
    at += 4 + key.length;
    view.setUint32(at, value.length);
    out.set(value, at + 4);
    at += 4 + value.length;
  }
  out.set(data, at);
  return out;
}

export function bytesToPayload(bytes: Uint8Array): Payload {
  const malformed = () =>
    new CodecError('codec.malformed_payload', 'decrypted payload is not in the expected format');
  if (bytes.length < 5 || bytes[0] !== FORMAT_VERSION) throw malformed();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(1);
  const metadata: Record<string, Uint8Array> = {};
  let at = 5;
  const take = (): Uint8Array => {
    if (at + 4 > bytes.length) throw malformed();
    const length = view.getUint32(at);
    if (at + 4 + length > bytes.length) throw malformed();
    const slice = bytes.slice(at + 4, at + 4 + length);
    at += 4 + length;
    return slice;
  };
  for (let i = 0; i < count; i++) {
    const key = take();
    metadata[decoder.decode(key)] = take();
  }
  return { metadata, data: bytes.slice(at) };
}
