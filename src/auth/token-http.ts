import { Agent, type Dispatcher, request } from 'undici';
import { AuthError } from './errors.js';

let sharedDispatcher: Agent | undefined;

/**
 * One keep-alive pool for every token source in the process: refreshes are rare, so a pool per
 * source would only hold idle sockets. Timeouts keep a hung endpoint from stalling a refresh forever.
 */
export function tokenDispatcher(): Dispatcher {
  sharedDispatcher ??= new Agent({
    connect: { timeout: 5_000 },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    keepAliveTimeout: 30_000,
  });
  return sharedDispatcher;
}

export interface TokenHttpResponse {
  status: number;
  body: unknown;
}

/**
 * A URL as it may appear in a message or log: origin and path only. Userinfo (`https://id:secret@…`)
 * and the query string can carry credentials, so neither is ever echoed.
 */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** Longest `error_description` passed on from an endpoint: enough for a sentence, not for a dump. */
export const MAX_ERROR_DESCRIPTION = 300;

/**
 * An endpoint's `error_description`, safe to put in a message: printable characters only (no
 * terminal escapes, no newlines that could forge log lines), whitespace collapsed, `secrets` blanked
 * out in case the endpoint echoes a credential, and cut to {@link MAX_ERROR_DESCRIPTION} characters.
 */
export function sanitizeDescription(value: unknown, secrets: readonly string[] = []): string | undefined {
  if (typeof value !== 'string') return undefined;
  let text = value.slice(0, 4 * MAX_ERROR_DESCRIPTION);
  for (const secret of secrets) {
    if (secret) text = text.split(secret).join('[redacted]');
  }
  text = text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return undefined;
  return text.length > MAX_ERROR_DESCRIPTION ? `${text.slice(0, MAX_ERROR_DESCRIPTION - 1)}…` : text;
}

/**
 * POSTs to a token endpoint and parses the JSON answer; every failure becomes an AuthError. `secrets`
 * (the client secret) are blanked out of anything the endpoint says that ends up in a message.
 */
export async function postToTokenEndpoint(
  url: string,
  init: { headers: Record<string, string>; body: string; dispatcher?: Dispatcher; secrets?: string[] },
): Promise<TokenHttpResponse> {
  const shown = displayUrl(url);
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { accept: 'application/json', ...init.headers },
      body: init.body,
      dispatcher: init.dispatcher ?? tokenDispatcher(),
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (cause) {
    const reason = sanitizeDescription((cause as Error)?.message, init.secrets) ?? 'network error';
    throw new AuthError(
      'auth.token_endpoint_unreachable',
      `token endpoint ${shown} is unreachable (${reason}); check the URL and that the issuer is running`,
      { cause },
    );
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 500) {
    throw new AuthError('auth.token_endpoint_failed', `token endpoint ${shown} failed with HTTP ${status}`, {
      status,
    });
  }
  if (status >= 400) {
    const oauth = body as { error?: unknown; error_description?: unknown } | undefined;
    const error =
      typeof oauth?.error === 'string' ? sanitizeDescription(oauth.error, init.secrets) : undefined;
    const description = sanitizeDescription(oauth?.error_description, init.secrets);
    const said = [error, description].filter(Boolean).join(': ');
    throw new AuthError(
      'auth.token_endpoint_rejected',
      `token endpoint ${shown} refused the request with HTTP ${status}${said ? ` (${said})` : ''}${hintFor(error)}`,
      { status, ...(error ? { oauthError: error } : {}) },
    );
  }
  if (body === undefined) {
    throw new AuthError(
      'auth.invalid_token_response',
      `token endpoint ${shown} answered HTTP ${status} without a JSON body`,
      { status },
    );
  }
  return { status, body };
}

function hintFor(error: string | undefined): string {
  switch (error) {
    case 'invalid_client':
      return '; check the client id and secret, and the client authentication method (clientAuth: basic or body)';
    case 'invalid_scope':
      return '; check the scope option against the scopes the client may request';
    case 'invalid_request':
    case 'invalid_target':
      return '; check the audience and scope options your provider expects';
    default:
      return '';
  }
}
