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

/** POSTs to a token endpoint and parses the JSON answer; every failure becomes an AuthError. */
export async function postToTokenEndpoint(
  url: string,
  init: { headers: Record<string, string>; body: string; dispatcher?: Dispatcher },
): Promise<TokenHttpResponse> {
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
    throw new AuthError(
      'auth.token_endpoint_unreachable',
      `token endpoint ${url} is unreachable (${(cause as Error)?.message ?? 'network error'}); check the URL and that the issuer is running`,
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
    throw new AuthError('auth.token_endpoint_failed', `token endpoint ${url} failed with HTTP ${status}`, {
      status,
    });
  }
  if (status >= 400) {
    const oauth = body as { error?: unknown; error_description?: unknown } | undefined;
    const error = typeof oauth?.error === 'string' ? oauth.error : undefined;
    const hint = error === 'invalid_client' ? '; check the client id and secret' : '';
    throw new AuthError(
      'auth.token_endpoint_rejected',
      `token endpoint ${url} refused the request with HTTP ${status}${error ? ` (${error})` : ''}${hint}`,
      { status, ...(error ? { oauthError: error } : {}) },
    );
  }
  if (body === undefined) {
    throw new AuthError(
      'auth.invalid_token_response',
      `token endpoint ${url} answered HTTP ${status} without a JSON body`,
      {
        status,
      },
    );
  }
  return { status, body };
}
