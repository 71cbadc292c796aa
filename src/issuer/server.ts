import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Application, ApplicationStore } from './applications.js';
import { IssuerHttpError, OAuthError } from './errors.js';
import { mediaType, readBody, sendJson } from './http-io.js';
import type { SigningKey } from './signing-keys.js';
import { mintAccessToken } from './token-minter.js';

export interface IssuerOptions {
  /** The `iss` claim; usually the issuer's own base URL. */
  issuer: string;
  /** The `aud` claim; must equal `global.authorization.audience` in the Temporal config. */
  audience: string;
  /** Lifetime of a token when the application sets none. Default 600 (10 minutes). */
  defaultTokenLifetimeSeconds?: number;
  applications: ApplicationStore;
  /** Every key here is published in the JWKS; the last one signs. */
  signingKeys: SigningKey[];
  /** Largest accepted request body. Default 16 KiB. */
  maxBodyBytes?: number;
  /** Receives one structured event per request outcome; never given a secret or a token. */
  log?: (event: IssuerLogEvent) => void;
  now?: () => number;
}

export interface IssuerLogEvent {
  event: 'token_issued' | 'token_refused' | 'request_failed';
  [field: string]: string | number | undefined;
}

const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** The issuer's HTTP service. Listening and closing are the caller's. */
export function createIssuerServer(options: IssuerOptions): Server {
  const signer = options.signingKeys.at(-1);
  if (!signer) throw new TypeError('IssuerOptions.signingKeys must hold at least one key');
  const now = options.now ?? Date.now;
  const maxBody = options.maxBodyBytes ?? 16 * 1024;
  const defaultLifetime = options.defaultTokenLifetimeSeconds ?? 600;
  const log = options.log ?? (() => {});

  async function issue(app: Application, keyId: string, requestedScope: string | undefined) {
    const permissions = grantedPermissions(app, requestedScope);
    const minted = await mintAccessToken({
      app,
      permissions,
      key: signer as SigningKey,
      issuer: options.issuer,
      audience: options.audience,
      lifetimeSeconds: app.tokenLifetimeSeconds ?? defaultLifetime,
      nowSeconds: Math.floor(now() / 1000),
    });
    log({ event: 'token_issued', sub: app.id, keyId, jti: minted.jti, kid: signer?.kid });
    return minted;
  }

  async function oauthToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (mediaType(req) !== 'application/x-www-form-urlencoded') {
      throw new OAuthError('invalid_request', 'content-type must be application/x-www-form-urlencoded');
    }
    const form = parseForm(await readBody(req, maxBody));
    const grantType = form.get('grant_type');
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') {
      throw new OAuthError('unsupported_grant_type', 'only grant_type=client_credentials is supported');
    }
    const credentials = clientCredentials(req, form);
    const app = await options.applications.authenticate(credentials.id, credentials.secret);
    if (!app) throw invalidClient(credentials.id);
    const minted = await issue(app, credentials.id, form.get('scope') ?? undefined);
    sendJson(
      res,
      200,
      {
        access_token: minted.token,
        token_type: 'Bearer',
        expires_in: minted.expiresInSeconds,
        scope: minted.permissions.join(' '),
      },
      noStore,
    );
  }

  async function apiToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    const app = await options.applications.authenticate(keyId, keySecret);
    if (!app) throw invalidClient(keyId);
    const minted = await issue(app, keyId, undefined);
    sendJson(res, 200, { token: minted.token, expiresIn: minted.expiresInSeconds }, noStore);
  }

  function invalidClient(keyId: string): OAuthError {
    log({ event: 'token_refused', reason: 'invalid_client', keyId: printableId(keyId) });
    return new OAuthError('invalid_client', 'client authentication failed');
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const allow = (method: string) => {
      if (req.method !== method) {
        throw new IssuerHttpError(405, 'method_not_allowed', `${path} accepts ${method} only`);
      }
    };
    switch (path) {
      case '/oauth/token':
        allow('POST');
        return oauthToken(req, res);
      case '/api/token':
        allow('POST');
        return apiToken(req, res);
      case '/.well-known/jwks.json':
        allow('GET');
        // Short caching: Temporal refetches on its own interval, and a new key must become visible
        // well within it (see DESIGN.md, signing-key rotation).
        return sendJson(
          res,
          200,
          { keys: options.signingKeys.map((k) => k.publicJwk) },
          { 'cache-control': 'public, max-age=30' },
        );
      case '/health':
        allow('GET');
        return sendJson(res, 200, { status: 'ok' });
      default:
        throw new IssuerHttpError(404, 'not_found', `no route ${path}`);
    }
  }

  return createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof OAuthError) {
        const headers: Record<string, string> = { ...noStore };
        if (err.status === 401 && req.headers.authorization?.startsWith('Basic ')) {
          headers['www-authenticate'] = 'Basic realm="tokenrelay"';
        }
        return sendJson(res, err.status, { error: err.error, error_description: err.message }, headers);
      }
      if (err instanceof IssuerHttpError) {
        return sendJson(res, err.status, {
          error: err.code.replace(/^issuer\./, ''),
          error_description: err.message,
        });
      }
      // Unknown failures: log the class, answer without internals (no stack in any response).
      log({
        event: 'request_failed',
        path: req.url?.split('?')[0],
        error: (err as Error)?.name ?? 'unknown',
      });
      sendJson(res, 500, { error: 'server_error', error_description: 'internal error' });
    });
  });
}

/** RFC 6749 §2.3.1: Basic credentials are form-encoded before base64; accept either method, not both. */
function clientCredentials(req: IncomingMessage, form: URLSearchParams): { id: string; secret: string } {
  const header = req.headers.authorization;
  const formId = form.get('client_id');
  const formSecret = form.get('client_secret');
  if (header !== undefined) {
    if (formSecret !== null) {
      throw new OAuthError('invalid_request', 'use one client authentication method, not both');
    }
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    const decoded = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'client authentication failed');
    const id = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (id === undefined || secret === undefined)
      throw new OAuthError('invalid_client', 'client authentication failed');
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

function grantedPermissions(app: Application, requestedScope: string | undefined): string[] {
  if (!requestedScope) return app.permissions;
  const requested = requestedScope.split(' ').filter(Boolean);
  const unknown = requested.filter((p) => !app.permissions.includes(p));
  if (unknown.length > 0)
    throw new OAuthError('invalid_scope', 'requested scope exceeds the application permissions');
  return requested;
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

/** Key ids from failed requests go to logs; cap and sanitise them so an attacker cannot forge lines. */
function printableId(id: string): string {
  return id.slice(0, 64).replace(/[^\w.-]/g, '?');
}
