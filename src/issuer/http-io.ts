import type { IncomingMessage, ServerResponse } from 'node:http';
import { IssuerHttpError } from './errors.js';

/** Reads a request body up to `limit` bytes; larger bodies are refused before they are buffered. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof IssuerHttpError) throw err;
    // The client went away or was cut off by the request timeout: its fault, not an internal error.
    throw new IssuerHttpError(408, 'request_timeout', 'the request body did not arrive in time');
  }
  return Buffer.concat(chunks).toString('utf8');
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
