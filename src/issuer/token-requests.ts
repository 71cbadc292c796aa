import type { IncomingMessage } from 'node:http';
import type { Application } from './applications.js';
import { IssuerHttpError, OAuthError } from './errors.js';
import { mediaType, readBody } from './http-io.js';

/** What a token request asks for, whichever endpoint it came through. */
export interface TokenRequest {
  keyId: string;
  secret: string;
  /** Space-separated permissions to narrow to (OAuth2 `scope`); undefined for all. */
  scope: string | undefined;
}

/**
 * Parses `POST /oauth/token` (RFC 6749 §4.4: form body, client auth by HTTP Basic or form fields).
 * Throws {@link OAuthError} with the RFC 6749 §5.2 code; `invalid_client` when no usable credentials.
 */
export async function readOAuthTokenRequest(req: IncomingMessage, maxBody: number): Promise<TokenRequest> {
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'content-type must be application/x-www-form-urlencoded');
  }
  const form = parseForm(await readBody(req, maxBody));
  const grantType = form.get('grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') {
    throw new OAuthError('unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }
  const { id, secret } = clientCredentials(req, form);
  return { keyId: id, secret, scope: form.get('scope') ?? undefined };
}

/** Parses `POST /api/token`: JSON `{ keyId, keySecret }`. */
export async function readApiTokenRequest(req: IncomingMessage, maxBody: number): Promise<TokenRequest> {
  if (mediaType(req) !== 'application/json') {
    throw new OAuthError('invalid_request', 'content-type must be application/json');
  }
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, maxBody));
  } catch (err) {
    if (err instanceof IssuerHttpError) throw err;
    throw new OAuthError('invalid_request', 'body is not valid JSON');
  }
  const { keyId, keySecret } = (body ?? {}) as { keyId?: unknown; keySecret?: unknown };
  if (typeof keyId !== 'string' || typeof keySecret !== 'string' || keyId === '' || keySecret === '') {
    throw new OAuthError('invalid_request', 'keyId and keySecret must be non-empty strings');
  }
  return { keyId, secret: keySecret, scope: undefined };
}

/**
 * The permissions to grant: all of the application's, or the requested subset of them. Each appears
 * once, in the order first named: a scope that repeats an entry does not repeat it in the token.
 */
export function grantedPermissions(app: Application, requestedScope: string | undefined): string[] {
  if (!requestedScope) return [...new Set(app.permissions)];
  const requested = [...new Set(requestedScope.split(' ').filter(Boolean))];
  const unknown = requested.filter((p) => !app.permissions.includes(p));
  if (unknown.length > 0)
    throw new OAuthError('invalid_scope', 'requested scope exceeds the application permissions');
  return requested;
}

/**
 * RFC 6749 §2.3.1: Basic credentials are form-encoded before base64; accept either method, not both. A
 * body `client_id` next to Basic credentials must name the same client (§2.3.1 allows sending it; a
 * different one is a confused or forged request, refused rather than silently ignored).
 */
function clientCredentials(req: IncomingMessage, form: URLSearchParams): { id: string; secret: string } {
  const header = req.headers.authorization;
  const formId = form.get('client_id');
  const formSecret = form.get('client_secret');
  if (header !== undefined) {
    if (formSecret !== null) {
      throw new OAuthError('invalid_request', 'use one client authentication method, not both');
    }
    const { id, secret } = basicCredentials(header);
    if (formId !== null && formId !== id) {
      throw new OAuthError('invalid_request', 'client_id in the body differs from the HTTP Basic client');
    }
    return { id, secret };
  }
  if (!formId || !formSecret) {
    throw new OAuthError(
      'invalid_client',
      'client authentication required (HTTP Basic or client_id + client_secret)',
    );
  }
  return { id: formId, secret: formSecret };
}

/** RFC 7235 §2.1: the scheme name is case-insensitive (`basic`, `BASIC`), followed by one or more spaces. */
export function isBasicAuthorization(header: string | undefined): boolean {
  return header !== undefined && /^basic(?: |$)/i.test(header);
}

function basicCredentials(header: string): { id: string; secret: string } {
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  const decoded = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'client authentication failed');
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (id === undefined || secret === undefined || id === '' || secret === '')
    throw new OAuthError('invalid_client', 'client authentication failed');
  return { id, secret };
}

function parseForm(body: string): URLSearchParams {
  const form = new URLSearchParams(body);
  for (const name of ['grant_type', 'client_id', 'client_secret', 'scope']) {
    if (form.getAll(name).length > 1)
      throw new OAuthError('invalid_request', `parameter ${name} is repeated`);
  }
  return form;
}

function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
