import type { IncomingMessage, ServerResponse } from 'node:http';
import { IssuerHttpError } from './errors.js';

/**
 * Reads a request body up to `limit` bytes; larger bodies are refused before they are buffered. On a
 * refusal the rest of the body is left unread, not destroyed: the answer goes out through
 * {@link sendJsonWhileBodyArrives}, which needs the connection still open.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (err?: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        settle(tooLarge(limit));
      } else chunks.push(chunk);
    };
    const onEnd = () => settle();
    // The client went away or was cut off by the request timeout: its fault, not an internal error.
    const onAbort = () =>
      settle(new IssuerHttpError(408, 'request_timeout', 'the request body did not arrive in time'));
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
  });
}

/**
 * Request bytes discarded after an early answer before the connection is cut anyway. Generous: a real
 * client that posted a few MiB by mistake must see its answer; beyond this the client is flooding.
 */
const maxDiscardedBodyBytes = 8 * 1024 * 1024;

/**
 * Answers a request that may still be sending its body (refused before or while the body was read: too
 * large, wrong content type, wrong method) — the answer goes out at once, but the connection is closed
 * only after the client finished sending, the rest of its body read and discarded.
 *
 * Why: closing a socket with unread bytes in its receive buffer makes the kernel send a reset, which
 * can reach the client before it read the answer; a client still writing sees EPIPE or ECONNRESET
 * instead of the 413 (nginx calls the cure "lingering close"). Draining costs no memory, only time, and
 * the request timeout bounds that; `connection: close` since a client that sends more than it may
 * should open a fresh connection. Past {@link maxDiscardedBodyBytes} the connection is cut anyway.
 */
export function sendJsonWhileBodyArrives(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (req.complete || req.destroyed) {
    sendJson(res, status, body, headers);
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
    connection: 'close',
  });
  res.write(text);
  let discarded = 0;
  const finish = () => {
    req.off('data', onData).off('end', finish).off('close', finish);
    res.end();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxDiscardedBodyBytes) finish();
  };
  req.on('data', onData).on('end', finish).on('close', finish);
  req.resume();
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The media type without parameters, lower-cased; '' when absent. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function tooLarge(limit: number): IssuerHttpError {
  return new IssuerHttpError(413, 'body_too_large', `request body exceeds ${limit} bytes`);
}
