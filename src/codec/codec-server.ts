// A remote codec server as Temporal documents it for `temporal … --codec-endpoint` and the Web UI:
// POST /encode and /decode with `{ "payloads": [...] }` in Temporal's JSON form, the namespace in the
// X-Namespace header. Unlike Temporal's samples it is authenticated (the same JWTs as Temporal) and
// authorized (the permission grammar): payloads that may hold a raw API token are decrypted only for
// callers with `token.read`.
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { ENCRYPTED_ENCODING } from './aes-gcm-codec.js';
import { type CodecAccess, type CodecAccessOptions, createAccessCheck } from './codec-server-access.js';
import { CodecServerError } from './codec-server-errors.js';
import { CodecError } from './errors.js';
import { formatPayloadsJson, parsePayloadsJson } from './payloads-json.js';
import { mayCarryApiToken } from './token-payloads.js';

/**
 * Metadata entry set on a payload /decode returned still encrypted because it may hold a raw API token
 * and the caller has no `token.read` in the namespace; its value names the grant that is missing.
 */
export const WITHHELD_METADATA = 'tokenrelay-withheld';

export interface CodecServerOptions extends CodecAccessOptions {
  /** The codec the workers use: /encode encrypts with it, /decode decrypts with it. */
  codec: PayloadCodec;
  /** The namespace of a request without X-Namespace. Default `default`. */
  defaultNamespace?: string;
  /**
   * Origins allowed to call from a browser (the Web UI's, e.g. `http://localhost:8233`): exact
   * `scheme://host[:port]`, no wildcard. Default none, which is all the CLI needs.
   */
  corsOrigins?: readonly string[];
  /** Larger request bodies are refused with 413 before they are buffered. Default 4 MiB. */
  maxBodyBytes?: number;
  /** A request (headers and body) must arrive within this. Default 10 s. */
  requestTimeoutMs?: number;
  /** One JSON-able event per request or refusal; never holds a token, key or payload data. */
  log?: (event: Record<string, unknown>) => void;
}

export interface RunningCodecServer {
  server: Server;
  /** `http://host:port`: what `--codec-endpoint` and the Web UI's codec endpoint take. */
  url: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const securityHeaders = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/** The codec server as a Node HTTP server, not yet listening (see {@link startCodecServer}). */
export function createCodecServer(options: CodecServerOptions): Server {
  const corsOrigins = new Set((options.corsOrigins ?? []).map(checkOrigin));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0)) {
    throw new CodecServerError('codec_server.invalid_argument', 'maxBodyBytes must be a positive integer');
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const defaultNamespace = options.defaultNamespace ?? 'default';
  const access = createAccessCheck(options);
  const log = options.log ?? (() => {});

  async function route(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown>> {
    const path = (req.url ?? '/').split('?')[0];
    const origin = req.headers.origin;
    if (origin !== undefined && corsOrigins.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'Origin');
    }
    if (path === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return { op: 'health' };
    }
    const op = path === '/encode' ? 'encode' : path === '/decode' ? 'decode' : undefined;
    if (!op)
      throw new CodecServerError('codec_server.not_found', 'the codec server serves /encode and /decode');
    if (req.method === 'OPTIONS') return preflight(res, origin, op);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST, OPTIONS');
      throw new CodecServerError('codec_server.method_not_allowed', `${op} takes POST`);
    }
    const namespace = headerValue(req.headers['x-namespace']) || defaultNamespace;
    const caller = await access(headerValue(req.headers.authorization), namespace);
    // Before the body is read: a caller with no standing in the namespace costs no buffering.
    if (!caller.decode && !caller.encode) authorize(caller, op);
    if (mediaType(req) !== 'application/json') {
      throw new CodecServerError(
        'codec_server.unsupported_media_type',
        'send Content-Type: application/json',
      );
    }
    const payloads = parsePayloadsJson(await readBody(req, maxBodyBytes));
    // The temporal CLI encodes an empty argument list before every query: encrypting nothing creates
    // nothing, so a reader's `temporal workflow query` is not refused for it.
    if (payloads.length > 0 || !caller.decode) authorize(caller, op);
    const event = { op, namespace, sub: caller.subject, payloads: payloads.length };
    if (op === 'encode') {
      sendBody(res, formatPayloadsJson(await options.codec.encode(payloads)));
      return event;
    }
    const outcome = await decodeFor(caller, payloads);
    sendBody(res, formatPayloadsJson(outcome.payloads));
    return {
      ...event,
      withheld: outcome.withheld,
      undecryptable: outcome.undecryptable,
      // Codes such as codec.unknown_key tell an operator which key is missing; they hold no data.
      ...(outcome.failures.size > 0 ? { undecryptableCodes: [...outcome.failures] } : {}),
    };
  }

  function preflight(res: ServerResponse, origin: string | undefined, op: string): Record<string, unknown> {
    if (origin === undefined || !corsOrigins.has(origin)) {
      throw new CodecServerError(
        'codec_server.forbidden',
        'this origin is not allowed; start the codec server with --cors-origin <origin>',
      );
    }
    res.writeHead(204, {
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type, X-Namespace',
      'access-control-max-age': '600',
    });
    res.end();
    return { op: `${op}_preflight` };
  }

  /**
   * Each payload on its own: one that is not encrypted passes through, one that does not decrypt (a
   * retired key, tampering) comes back unchanged so the others still show, and one that may hold a
   * raw token stays encrypted unless the caller may read tokens.
   */
  async function decodeFor(caller: CodecAccess, payloads: Payload[]) {
    let withheld = 0;
    let undecryptable = 0;
    const failures = new Set<string>();
    const decoded = await Promise.all(
      payloads.map(async (payload) => {
        if (!isEncrypted(payload)) return payload;
        let plain: Payload;
        try {
          [plain] = (await options.codec.decode([payload])) as [Payload];
        } catch (err) {
          undecryptable += 1;
          failures.add(err instanceof CodecError ? err.code : 'codec.decode_failed');
          return payload;
        }
        if (caller.readTokens || !mayCarryApiToken(plain)) return plain;
        withheld += 1;
        return {
          metadata: { ...payload.metadata, [WITHHELD_METADATA]: encoder.encode('token.read') },
          data: payload.data ?? new Uint8Array(),
        };
      }),
    );
    return { payloads: decoded, withheld, undecryptable, failures };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    try {
      const event = await route(req, res);
      log({ event: 'codec_request', ...event, status: res.statusCode, ms: elapsed(started) });
    } catch (err) {
      const refusal = err instanceof CodecServerError ? err : undefined;
      const status = refusal?.status ?? 500;
      log({
        event: 'codec_refused',
        status,
        code: refusal?.code ?? 'codec_server.internal',
        ...(refusal?.reason ? { reason: refusal.reason } : {}),
        // The class only: an unexpected error's message could quote what it failed on.
        ...(refusal ? {} : { error: (err as Error)?.name ?? 'unknown' }),
        ms: elapsed(started),
      });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (status === 401) {
        res.setHeader(
          'www-authenticate',
          refusal?.reason === 'missing_token' ? 'Bearer' : 'Bearer error="invalid_token"',
        );
      }
      if (status === 503) res.setHeader('retry-after', '5');
      sendJson(
        res,
        status,
        refusal
          ? {
              error: refusal.code,
              message: refusal.message,
              ...(refusal.reason ? { reason: refusal.reason } : {}),
            }
          : { error: 'codec_server.internal', message: 'internal error' },
      );
    }
  }

  const server = createServer(
    {
      // A client that trickles its request is cut off (checked every second; Node's default is 30 s).
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 5_000),
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  server.on('clientError', answerClientError);
  return server;
}

/** Starts the codec server on `host:port` (port 0: any free port) and resolves once it listens. */
export async function startCodecServer(
  options: CodecServerOptions & { host?: string; port?: number },
): Promise<RunningCodecServer> {
  const server = createCodecServer(options);
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException)?.code;
    throw new CodecServerError(
      'codec_server.listen_failed',
      `cannot listen on ${host}:${options.port ?? 0}${code ? ` (${code})` : ''}`,
      { cause },
    );
  }
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function authorize(caller: CodecAccess, op: 'encode' | 'decode'): void {
  if (op === 'decode' && !caller.decode) {
    throw new CodecServerError(
      'codec_server.forbidden',
      `decode needs the read role (or write/admin) in namespace ${caller.namespace}`,
    );
  }
  if (op === 'encode' && !caller.encode) {
    throw new CodecServerError(
      'codec_server.forbidden',
      `encode needs the write role or a token.rotate grant in namespace ${caller.namespace}`,
    );
  }
}

function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && decoder.decode(encoding) === ENCRYPTED_ENCODING;
}

/** Reads the body up to `limit` bytes; a larger one is refused before it is buffered. */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () =>
    new CodecServerError('codec_server.body_too_large', `the request body exceeds ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof CodecServerError) throw err;
    // The client went away or the request timeout cut it off: its fault, not an internal error.
    throw new CodecServerError('codec_server.request_timeout', 'the request body did not arrive in time');
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendBody(res: ServerResponse, body: string): void {
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...securityHeaders,
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...securityHeaders,
  });
  res.end(text);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** An origin as browsers send it: `scheme://host[:port]`, nothing else. */
function checkOrigin(value: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  const origin = value.replace(/\/$/, '');
  if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
    throw new CodecServerError(
      'codec_server.invalid_argument',
      `CORS origin ${JSON.stringify(value.slice(0, 200))} must be scheme://host[:port], e.g. http://localhost:8233`,
    );
  }
  return origin;
}

/** Node's own refusals (timeout, oversized headers, bad HTTP) answer as JSON too, then the socket closes. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
    const [status, code] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'codec_server.request_timeout']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'codec_server.invalid_request']
          : [400, 'codec_server.invalid_request'];
    const body = JSON.stringify({ error: code, message: STATUS_CODES[status] ?? 'refused' });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
