// Which decrypted payloads may carry a raw API token, so the codec server shows them only to callers
// allowed to read tokens. The codec server sees payloads, not message names or workflow types, so it
// decides by content, and errs towards "may carry a token":
//
// - A JSON string (the `apiToken` signal's argument and the `apiToken` query's answer are bare strings)
//   may be a token unless it is empty. StatefulWorkflow accepts any non-empty string of up to 64 KiB as
//   an opaque API key, so no other shape rules a string out: a workflow result or signal argument that
//   is a bare string is withheld too.
// - A JSON object or array may carry one when any key, at any depth, names a credential (`token`,
//   `apiToken`, `accessToken`, `secret`, `password`, `apiKey`, `authorization`, …: matched as a
//   case-insensitive substring), or any string in it contains a JWT or a `Bearer …` credential.
//   This covers every StatefulWorkflow message that holds a token (`{ token, version }` handoffs,
//   `apiAccess`, the start input's `apiToken`). An opaque key under an unremarkable field name
//   (`{ "key": "sk_live_…" }`) is not recognised: keep application secrets out of payloads or under
//   such names.
// - null, numbers and booleans carry none; `binary/null` carries none.
// - Anything that cannot be inspected may: raw bytes (`binary/plain`), binary protobuf, unknown
//   encodings, payloads encrypted once more, JSON that does not parse, structures nested deeper than
//   MAX_DEPTH.
import type { Payload } from '@temporalio/common';

/** Key names that hold credentials (substring, case-insensitive); `token` covers `apiToken`, … */
const CREDENTIAL_KEY = /token|secret|passw|credential|authori[sz]ation|api[-_]?key|private[-_]?key/i;
/** Runs of characters a compact JWS/JWE is made of; anything else separates candidates. */
const NOT_JWT_CHARACTERS = /[^A-Za-z0-9_.-]+/;
const BEARER_CREDENTIAL = /\bbearer\s+[A-Za-z0-9._~+/-]/i;
/** Deeper JSON is not walked: it counts as "may carry a token". */
const MAX_DEPTH = 64;

const JSON_ENCODINGS = new Set(['json/plain', 'json/protobuf']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether a decrypted payload may hold a raw API token (or another credential); see the file header. */
export function mayCarryApiToken(payload: Payload): boolean {
  const encodingBytes = payload.metadata?.encoding;
  if (!encodingBytes) return true;
  let encoding: string;
  let text: string;
  try {
    encoding = utf8.decode(encodingBytes);
    if (encoding === 'binary/null') return false;
    if (!JSON_ENCODINGS.has(encoding)) return true;
    text = utf8.decode(payload.data ?? new Uint8Array());
  } catch {
    return true;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return true;
  }
  if (typeof value === 'string') return value !== '';
  return jsonMayCarryToken(value, 0);
}

function jsonMayCarryToken(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return false;
  if (typeof value === 'string') return containsJwt(value) || BEARER_CREDENTIAL.test(value);
  if (depth >= MAX_DEPTH) return true;
  if (Array.isArray(value)) return value.some((item) => jsonMayCarryToken(item, depth + 1));
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (CREDENTIAL_KEY.test(key) || jsonMayCarryToken(item, depth + 1)) return true;
    }
    return false;
  }
  return true;
}

/**
 * Whether `text` contains a compact JWS or JWE: a base64url segment holding `eyJ` (the encoding of
 * `{"`, how every JOSE header starts) followed by at least two more dot-separated segments. A split
 * and a scan instead of one RegExp, which would backtrack quadratically on long runs of `eyJ…`.
 */
function containsJwt(text: string): boolean {
  if (!text.includes('eyJ')) return false;
  for (const run of text.split(NOT_JWT_CHARACTERS)) {
    const segments = run.split('.');
    for (let i = 0; i + 2 < segments.length; i++) {
      if (segments[i]!.includes('eyJ')) return true;
    }
  }
  return false;
}
