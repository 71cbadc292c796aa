// Refuses to hand a token to a client whose payloads would reach the server readable. Temporal keeps
// signal and start payloads in history for as long as the namespace retains it, so a token sent in
// plain text stays readable there long after it was rotated out.
import { randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { ApiTokenGuardError } from './guard-errors.js';

/** What a client or workflow client exposes of its data converter (both have `options`). */
export interface WithPayloadCodecs {
  readonly options: { readonly loadedDataConverter: { readonly payloadCodecs: readonly PayloadCodec[] } };
}

export interface PlaintextGuardOptions {
  /**
   * Send the token even though the client's payload codecs do not encrypt it, for a server that protects
   * history some other way. Default false.
   */
  allowPlaintextToken?: boolean;
}

export interface CodecProbe {
  /** True when a random probe payload came out of the codec chain unreadable and re-labelled. */
  encrypts: boolean;
  /** Class names of the codecs, in the order they encode. */
  codecs: string[];
  /** Why the chain does not count as encrypting (absent when it does). */
  reason?: string;
}

const PLAIN_ENCODING = 'binary/plain';
// Large enough that a compressor always stores random bytes as they are: at 64 bytes deflate picked
// fixed Huffman codes (bit-shifting the probe out of sight) for 27 of 100,000 probes, so a
// compress-only codec sometimes passed as encrypting; at 1,024 bytes, for none.
const PROBE_BYTES = 1024;
/** A run this long of the probe surviving anywhere in the output means the payload was not encrypted. */
const WINDOW = 12;

const probes = new WeakMap<readonly PayloadCodec[], Promise<CodecProbe>>();

/**
 * Runs `codecs` over a random payload the way Temporal encodes (first codec first) and checks that no
 * part of the probe survives, as raw bytes, base64 or hex, and that the payload's encoding changed.
 * Random bytes do not compress, so a compressing codec leaves them readable and does not pass; an
 * encrypting one (AesGcmPayloadCodec, a remote codec server, compress-then-encrypt) does.
 */
export function probePayloadCodecs(codecs: readonly PayloadCodec[]): Promise<CodecProbe> {
  let probe = probes.get(codecs);
  if (!probe) {
    probe = runProbe(codecs);
    probes.set(codecs, probe);
  }
  return probe;
}

async function runProbe(codecs: readonly PayloadCodec[]): Promise<CodecProbe> {
  const names = codecs.map(codecName);
  if (codecs.length === 0) return { encrypts: false, codecs: names, reason: 'it has no payload codec' };
  const secret = randomBytes(PROBE_BYTES);
  let payloads: Payload[] = [
    { metadata: { encoding: new TextEncoder().encode(PLAIN_ENCODING) }, data: new Uint8Array(secret) },
  ];
  try {
    for (const codec of codecs) payloads = await codec.encode(payloads);
  } catch (err) {
    return {
      encrypts: false,
      codecs: names,
      reason: `its payload codecs failed to encode a probe payload (${err instanceof Error ? err.message : String(err)})`,
    };
  }
  const needles = [secret, Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex'))];
  for (const payload of payloads) {
    const encoding = payload.metadata?.encoding;
    if (!encoding || Buffer.from(encoding).toString('utf8') === PLAIN_ENCODING) {
      return {
        encrypts: false,
        codecs: names,
        reason: 'its payload codecs left the payload encoding unchanged',
      };
    }
    const parts = [payload.data, ...Object.values(payload.metadata ?? {})];
    for (const part of parts) {
      if (part && needles.some((needle) => containsRun(Buffer.from(part), needle))) {
        return {
          encrypts: false,
          codecs: names,
          reason: 'its payload codecs left a probe payload readable (they do not encrypt)',
        };
      }
    }
  }
  return { encrypts: true, codecs: names };
}

/**
 * Throws `apitoken.plaintext_refused` unless `client`'s payload codecs encrypt or the caller allowed
 * plain text. `what` names the call for the message (`startParent`, `rotateApiToken`, …).
 */
export async function assertTokenEncrypted(
  client: WithPayloadCodecs,
  what: string,
  options: PlaintextGuardOptions = {},
): Promise<void> {
  if (options.allowPlaintextToken === true) return;
  const probe = await probePayloadCodecs(client.options.loadedDataConverter.payloadCodecs);
  if (probe.encrypts) return;
  const chain = probe.codecs.length ? `payload codecs [${probe.codecs.join(', ')}]` : 'payload codecs: none';
  throw new ApiTokenGuardError(
    'apitoken.plaintext_refused',
    `${what}: refusing to send an API token in plain text: this client's data converter (${chain}) does ` +
      `not encrypt: ${probe.reason}. The token would be stored readable in workflow history. Give the ` +
      'client (and every worker) an encrypting codec, such as AesGcmPayloadCodec from codecFromEnv() with ' +
      'TOKENRELAY_CODEC_KEYS="<keyId>:<base64 32-byte key>" (tokenrelay CLI: set TOKENRELAY_CODEC_KEYS), ' +
      'or, if the server protects history some other way, pass allowPlaintextToken: true ' +
      '(CLI: --allow-plaintext-token).',
  );
}

function codecName(codec: PayloadCodec): string {
  const name = (codec as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'anonymous codec';
}

/** Whether any WINDOW-byte run of `needle` occurs in `haystack`. */
function containsRun(haystack: Buffer, needle: Buffer): boolean {
  if (haystack.length < WINDOW) return false;
  for (let i = 0; i + WINDOW <= needle.length; i++) {
    if (haystack.includes(needle.subarray(i, i + WINDOW))) return true;
  }
  return false;
}
