import type { Dispatcher } from 'undici';
import { AuthError } from './errors.js';
import { jwtLifetimeMs } from './jwt-lifetime.js';
import { postToTokenEndpoint } from './token-http.js';
import type { AccessToken, TokenSource } from './token-source.js';

/** Options every HTTP token source shares. */
export interface TokenEndpointOptions {
  /** Default: the process-wide keep-alive pool. */
  dispatcher?: Dispatcher;
  /** Clock for receipt times; injectable for tests. Default `Date.now`. */
  now?: () => number;
}

export interface ClientCredentialsOptions extends TokenEndpointOptions {
  /** The OAuth2 token endpoint, e.g. `http://127.0.0.1:17380/oauth/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /**
   * `basic` (default): HTTP Basic with id and secret form-encoded first (RFC 6749 §2.3.1).
   * `body`: `client_id` and `client_secret` as form fields, for endpoints that require it.
   */
  clientAuth?: 'basic' | 'body';
  /** Space-separated scopes to request. Default: none (the application's full permissions). */
  scope?: string;
  /** `audience` form parameter, for providers (Auth0) that need it. Default: not sent. */
  audience?: string;
}

/** OAuth2 client credentials grant (RFC 6749 §4.4) against any compliant token endpoint. */
export class ClientCredentialsTokenSource implements TokenSource {
  private readonly options: ClientCredentialsOptions;

  constructor(options: ClientCredentialsOptions) {
    requireUrl(options?.tokenUrl, 'tokenUrl');
    requireString(options.clientId, 'clientId');
    requireString(options.clientSecret, 'clientSecret');
    if (options.clientAuth !== undefined && !['basic', 'body'].includes(options.clientAuth)) {
      throw new TypeError('ClientCredentialsOptions.clientAuth must be "basic" or "body"');
    }
    this.options = options;
  }

  async getToken(): Promise<AccessToken> {
    const { tokenUrl, clientId, clientSecret, scope, audience } = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    if (audience) form.set('audience', audience);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if ((this.options.clientAuth ?? 'basic') === 'basic') {
      const pair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    const now = this.options.now ?? Date.now;
    const sentAt = now();
    const { body } = await postToTokenEndpoint(tokenUrl, {
      headers,
      body: form.toString(),
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
    });
    const { access_token: token, expires_in: expiresIn } = body as {
      access_token?: unknown;
      expires_in?: unknown;
    };
    if (typeof token !== 'string' || token === '') {
      throw new AuthError(
        'auth.invalid_token_response',
        `token endpoint ${tokenUrl} answered without access_token`,
      );
    }
    // expires_in is relative, so counting it from when we sent the request keeps a skewed issuer
    // clock out of the picture and errs on the early side.
    if (expiresIn === undefined) return { token, expiresAt: sentAt + jwtLifetimeMs(token, sentAt) };
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new AuthError(
        'auth.invalid_token_response',
        `token endpoint ${tokenUrl} answered with expires_in ${JSON.stringify(expiresIn)}; expected a positive number of seconds`,
      );
    }
    return { token, expiresAt: sentAt + expiresIn * 1000 };
  }
}

export interface KeySecretOptions extends TokenEndpointOptions {
  /** Endpoint taking `POST {keyId, keySecret}` and answering `{token}`, e.g. `…/api/token`. */
  url: string;
  keyId: string;
  keySecret: string;
}

/** The JSON key-id/secret form; the token's lifetime is read from its JWT claims. */
export class KeySecretTokenSource implements TokenSource {
  private readonly options: KeySecretOptions;

  constructor(options: KeySecretOptions) {
    requireUrl(options?.url, 'url');
    requireString(options.keyId, 'keyId');
    requireString(options.keySecret, 'keySecret');
    this.options = options;
  }

  async getToken(): Promise<AccessToken> {
    const { url, keyId, keySecret } = this.options;
    const now = this.options.now ?? Date.now;
    const sentAt = now();
    const { body } = await postToTokenEndpoint(url, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keyId, keySecret }),
      ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
    });
    const token = (body as { token?: unknown }).token;
    if (typeof token !== 'string' || token === '') {
      throw new AuthError('auth.invalid_token_response', `token endpoint ${url} answered without a token`);
    }
    return { token, expiresAt: sentAt + jwtLifetimeMs(token, sentAt) };
  }
}

function requireString(value: unknown, name: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
}

function requireUrl(value: unknown, name: string): void {
  requireString(value, name);
  if (!URL.canParse(value as string))
    throw new TypeError(`${name} must be an absolute URL, got ${JSON.stringify(value)}`);
}

function formEncode(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+');
}
