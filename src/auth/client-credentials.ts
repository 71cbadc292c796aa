import { inspect } from 'node:util';
import type { Dispatcher } from 'undici';
import { AuthError } from './errors.js';
import { jwtLifetimeMs } from './jwt-lifetime.js';
import { displayUrl, postToTokenEndpoint } from './token-http.js';
import type { AccessToken, TokenSource } from './token-source.js';

/** Options every HTTP token source shares. */
export interface TokenEndpointOptions {
  /** Default: the process-wide keep-alive pool. */
  dispatcher?: Dispatcher;
  /** Clock for receipt times; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Allow a plain `http://` endpoint on a host other than loopback. Off by default: the request
   * carries the client secret, which anyone on the path could read. Loopback (`localhost`,
   * `127.0.0.0/8`, `[::1]`) is always allowed, for a local issuer.
   */
  allowInsecureHttp?: boolean;
}

export interface ClientCredentialsOptions extends TokenEndpointOptions {
  /** The OAuth2 token endpoint, e.g. `https://auth.example.com/oauth/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /**
   * `basic` (default): HTTP Basic with id and secret form-encoded first (RFC 6749 §2.3.1;
   * `client_secret_basic`). `body`: `client_id` and `client_secret` as form fields
   * (`client_secret_post`), for endpoints that require it.
   */
  clientAuth?: 'basic' | 'body';
  /**
   * Space-separated scopes to request. Most providers (Keycloak, Auth0, Hydra) grant only what is
   * asked for, so Temporal permissions carried as scopes must be listed here. tokenrelay's issuer
   * grants the application's full permissions when it is left out.
   */
  scope?: string;
  /**
   * `audience` form parameter: the `aud` the token must carry for Temporal to accept it (Auth0 and
   * Hydra need it; Keycloak sets `aud` by client scope mappers instead). Default: not sent.
   */
  audience?: string;
}

/** OAuth2 client credentials grant (RFC 6749 §4.4) against any compliant token endpoint. */
export class ClientCredentialsTokenSource implements TokenSource {
  // `#private`: unlike TypeScript's `private`, invisible to JSON.stringify, spread and inspection.
  readonly #options: ClientCredentialsOptions;

  constructor(options: ClientCredentialsOptions) {
    requireUrl(options?.tokenUrl, 'tokenUrl', options?.allowInsecureHttp);
    requireString(options.clientId, 'clientId');
    requireString(options.clientSecret, 'clientSecret');
    if (options.clientAuth !== undefined && !['basic', 'body'].includes(options.clientAuth)) {
      throw new TypeError('ClientCredentialsOptions.clientAuth must be "basic" or "body"');
    }
    this.#options = { ...options };
  }

  async getToken(): Promise<AccessToken> {
    const { tokenUrl, clientId, clientSecret, scope, audience } = this.#options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    if (audience) form.set('audience', audience);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if ((this.#options.clientAuth ?? 'basic') === 'basic') {
      const pair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    const now = this.#options.now ?? Date.now;
    const sentAt = now();
    const { body } = await postToTokenEndpoint(tokenUrl, {
      headers,
      body: form.toString(),
      secrets: [clientSecret],
      ...(this.#options.dispatcher ? { dispatcher: this.#options.dispatcher } : {}),
    });
    const { access_token: token, expires_in: expiresIn } = body as {
      access_token?: unknown;
      expires_in?: unknown;
    };
    const shown = displayUrl(tokenUrl);
    if (typeof token !== 'string' || token === '') {
      throw new AuthError(
        'auth.invalid_token_response',
        `token endpoint ${shown} answered without access_token`,
      );
    }
    // expires_in is relative, so counting it from when we sent the request keeps a skewed issuer
    // clock out of the picture and errs on the early side.
    if (expiresIn === undefined) return { token, expiresAt: sentAt + jwtLifetimeMs(token, sentAt) };
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new AuthError(
        'auth.invalid_token_response',
        `token endpoint ${shown} answered with expires_in ${describeValue(expiresIn)}; expected a positive number of seconds`,
      );
    }
    return { token, expiresAt: sentAt + expiresIn * 1000 };
  }

  /** What `JSON.stringify` shows: the endpoint and client id, never the secret. */
  toJSON(): Record<string, unknown> {
    const o = this.#options;
    return {
      type: 'ClientCredentialsTokenSource',
      tokenUrl: displayUrl(o.tokenUrl),
      clientId: o.clientId,
      clientAuth: o.clientAuth ?? 'basic',
      ...(o.scope ? { scope: o.scope } : {}),
      ...(o.audience ? { audience: o.audience } : {}),
    };
  }

  [inspect.custom](): string {
    return `ClientCredentialsTokenSource ${inspect(this.toJSON())}`;
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
  readonly #options: KeySecretOptions;

  constructor(options: KeySecretOptions) {
    requireUrl(options?.url, 'url', options?.allowInsecureHttp);
    requireString(options.keyId, 'keyId');
    requireString(options.keySecret, 'keySecret');
    this.#options = { ...options };
  }

  async getToken(): Promise<AccessToken> {
    const { url, keyId, keySecret } = this.#options;
    const now = this.#options.now ?? Date.now;
    const sentAt = now();
    const { body } = await postToTokenEndpoint(url, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keyId, keySecret }),
      secrets: [keySecret],
      ...(this.#options.dispatcher ? { dispatcher: this.#options.dispatcher } : {}),
    });
    const token = (body as { token?: unknown }).token;
    if (typeof token !== 'string' || token === '') {
      throw new AuthError(
        'auth.invalid_token_response',
        `token endpoint ${displayUrl(url)} answered without a token`,
      );
    }
    return { token, expiresAt: sentAt + jwtLifetimeMs(token, sentAt) };
  }

  /** What `JSON.stringify` shows: the endpoint and key id, never the secret. */
  toJSON(): Record<string, unknown> {
    return { type: 'KeySecretTokenSource', url: displayUrl(this.#options.url), keyId: this.#options.keyId };
  }

  [inspect.custom](): string {
    return `KeySecretTokenSource ${inspect(this.toJSON())}`;
  }
}

function requireString(value: unknown, name: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
}

function requireUrl(value: unknown, name: string, allowInsecureHttp = false): void {
  requireString(value, name);
  // The value is never echoed: a URL that fails to parse may still hold credentials.
  if (!URL.canParse(value as string)) throw new TypeError(`${name} must be an absolute URL`);
  const url = new URL(value as string);
  if (url.username || url.password) {
    throw new TypeError(
      `${name} must not carry credentials (user:password@); pass them as clientId and clientSecret`,
    );
  }
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw new TypeError(`${name} must be an https:// URL, got ${url.protocol}`);
  if (!allowInsecureHttp && !isLoopback(url.hostname)) {
    throw new TypeError(
      `${name} ${displayUrl(url)} is plain http on a host other than loopback: the client secret would ` +
        'cross the network unencrypted. Use https, or set allowInsecureHttp: true if the network is trusted',
    );
  }
}

/** `localhost`, `*.localhost`, `127.0.0.0/8` and `[::1]`: traffic that never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1') return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function formEncode(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+');
}
