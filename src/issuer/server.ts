import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerOptions,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ApplicationStore, AuthenticationResult } from './applications.js';
import type { AuditEvent, AuditSink } from './audit-log.js';
import { type BootstrapCredential, checkBootstrapCredential } from './bootstrap-credential.js';
import { clientAddressResolver, rateLimitSubject } from './client-address.js';
import type { RateLimitConfig } from './config.js';
import { IssuerHttpError, OAuthError, RateLimitedError } from './errors.js';
import { sendJson } from './http-io.js';
import { IssuerMetrics } from './issuer-metrics.js';
import { SlidingWindowLimiter } from './rate-limiter.js';
import type { SigningKeyRing, SigningKeysNow } from './signing-key-ring.js';
import type { SigningKey } from './signing-keys.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, tokenLifetimeSeconds } from './token-lifetimes.js';
import { mintAccessToken } from './token-minter.js';
import {
  grantedPermissions,
  isBasicAuthorization,
  readApiTokenRequest,
  readOAuthTokenRequest,
  type TokenRequest,
} from './token-requests.js';

export interface IssuerOptions {
  /** The `iss` claim; usually the issuer's own base URL. */
  issuer: string;
  /** The `aud` claim; must equal `global.authorization.audience` in the Temporal config. */
  audience: string;
  /** Lifetime of a token when the application sets none. Default 600 (10 minutes). */
  defaultTokenLifetimeSeconds?: number;
  /** No token is minted for longer, whatever its application says. Default 86 400 (24 h). */
  maxTokenLifetimeSeconds?: number;
  applications: ApplicationStore;
  /**
   * A {@link SigningKeyRing} (follows rotations on disk), or fixed keys: every one published, the
   * last one signs.
   */
  signingKeys: SigningKey[] | SigningKeyRing;
  /** `Cache-Control: max-age` of the JWKS; at most the rotation's publish-ahead time. Default 30. */
  jwksMaxAgeSeconds?: number;
  /**
   * Failed-authentication limits per client address and per key id. Default 10 per 60 s; `false` turns
   * them off. They answer failed attempts only: a correct secret is never refused by them.
   */
  rateLimit?: RateLimitConfig | false;
  /**
   * Reverse proxies (IP addresses, CIDR blocks) whose `X-Forwarded-For` names the client. Default
   * none: the socket's peer address is the client.
   */
  trustedProxies?: string[];
  /**
   * Serve HTTPS with this certificate and key (PEM). The returned server's `setSecureContext` swaps
   * them later (run.ts does, when the files change).
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Credential from the environment for the first setup (see bootstrap-credential.ts). */
  bootstrap?: BootstrapCredential;
  /** Receives audit events (token issued / failed / rate limited). */
  audit?: AuditSink;
  /** Metrics served at `/metrics`. Default: a fresh set in its own registry. */
  metrics?: IssuerMetrics;
  /** How long a client may take to send its whole request. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Largest accepted request body. Default 16 KiB. */
  maxBodyBytes?: number;
  /** Receives one structured event per request outcome; never given a secret or a token. */
  log?: (event: IssuerLogEvent) => void;
  now?: () => number;
}

export interface IssuerLogEvent {
  event:
    | 'token_issued'
    | 'token_refused'
    | 'request_failed'
    /** Something an operator must act on: a bootstrap credential without expiry, stale state. */
    | 'warning'
    | 'state_file_unreadable'
    | 'state_file_recovered'
    | 'tls_reloaded'
    | 'tls_reload_failed'
    | 'loopback_http_listening';
  [field: string]: string | number | undefined;
}

type Endpoint = 'oauth' | 'api';

const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
const routes = new Set([
  '/oauth/token',
  '/api/token',
  '/.well-known/jwks.json',
  '/health',
  '/ready',
  '/metrics',
]);

/**
 * The issuer's HTTP service (HTTPS when `tls` is given). Listening and closing are the caller's.
 *
 * Failed authentications are limited per key id and per client address, and the limit is consulted
 * only after the secret was checked: a correct secret is accepted whatever anyone else did. Key ids are
 * public and addresses are shared (NAT, proxies), so refusing a correct secret because of failures
 * under its key id or its address would let anyone lock out a real client; and the secrets are 256-bit
 * random (the bootstrap secret must be comparably strong), so the limit is not what stops guessing.
 * What it does: failed attempts beyond the limit are answered 429 with Retry-After, counted and
 * audited, and a blocked subject stays blocked whatever else fails (rate-limiter.ts).
 */
export function createIssuerServer(
  options: IssuerOptions & { tls: NonNullable<IssuerOptions['tls']> },
): HttpsServer;
export function createIssuerServer(options: IssuerOptions & { tls?: undefined }): Server;
export function createIssuerServer(options: IssuerOptions): Server | HttpsServer;
export function createIssuerServer(options: IssuerOptions): Server | HttpsServer {
  return createIssuerServers(options).main;
}

/**
 * The issuer's server and, with `plainLoopback`, a second plain-HTTP server sharing its state (limits,
 * metrics, keys) for the caller to listen with on a loopback address only: an explicit way for local
 * tools that cannot trust a private CA yet to keep working while the main listener speaks HTTPS.
 */
export function createIssuerServers(
  options: IssuerOptions,
  extra: { plainLoopback?: boolean } = {},
): { main: Server | HttpsServer; plainLoopback: Server | undefined } {
  const keys = signingKeysSource(options.signingKeys);
  const now = options.now ?? Date.now;
  const maxBody = options.maxBodyBytes ?? 16 * 1024;
  const defaultLifetime = options.defaultTokenLifetimeSeconds ?? 600;
  const maxLifetime = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  const jwksMaxAge = options.jwksMaxAgeSeconds ?? 30;
  const log = options.log ?? (() => {});
  const clientAddress = clientAddressResolver(options.trustedProxies ?? []);
  // Auditing never fails or delays the request it records; a failed write is reported on the log.
  const audit = (event: AuditEvent): void => {
    Promise.resolve()
      .then(() => options.audit?.(event))
      .catch((err: unknown) =>
        log({ event: 'request_failed', path: 'audit', error: (err as Error)?.name ?? 'unknown' }),
      );
  };
  const metrics = options.metrics ?? new IssuerMetrics();
  const windowMs = (options.rateLimit ? options.rateLimit.windowSeconds : 60) * 1000;
  const maxFailures = (options.rateLimit ? options.rateLimit.maxFailures : undefined) ?? 10;
  const limiters =
    options.rateLimit === false
      ? undefined
      : {
          key: new SlidingWindowLimiter({ maxFailures, windowMs, now }),
          ip: new SlidingWindowLimiter({
            maxFailures: options.rateLimit?.maxFailuresPerIp ?? 5 * maxFailures,
            windowMs,
            now,
          }),
        };

  // Per-request facts the error path needs for the audit log.
  interface Attempt {
    endpoint: Endpoint;
    ip: string;
    keyId?: string;
    /**
     * Whether keyId named a real key. Unrecognised ids stay out of the audit log (a caller who swapped
     * id and secret would otherwise have put the secret there) and out of the per-key limit (its
     * memory is then bounded by the number of real keys).
     */
    keyIdKnown?: boolean;
    reason?: string;
  }

  /**
   * Counts a failed authentication and answers it: 401, or 429 when the key id or the address had
   * already reached its limit before this attempt (so the attempt that crosses the limit is the first
   * answered 429).
   */
  function authenticationFailed(attempt: Attempt, reason: string): OAuthError | RateLimitedError {
    attempt.reason = reason;
    const ipSubject = rateLimitSubject(attempt.ip);
    const keySubject = attempt.keyIdKnown ? attempt.keyId : undefined;
    const ipWait = limiters?.ip.blockedForMs(ipSubject) ?? 0;
    const keyWait = keySubject === undefined ? 0 : (limiters?.key.blockedForMs(keySubject) ?? 0);
    limiters?.ip.recordFailure(ipSubject);
    if (keySubject !== undefined) limiters?.key.recordFailure(keySubject);
    log({ event: 'token_refused', reason: 'invalid_client', ...keyField(attempt) });
    const wait = Math.max(ipWait, keyWait);
    if (wait === 0) return new OAuthError('invalid_client', 'client authentication failed');
    const scope = ipWait >= keyWait ? 'ip' : 'key';
    metrics.rateLimited.inc({ scope });
    audit({
      event: 'rate_limited',
      scope,
      reason,
      endpoint: attempt.endpoint,
      ip: attempt.ip,
      ...keyField(attempt),
    });
    return new RateLimitedError(Math.ceil(wait / 1000));
  }

  // Both checks always run, so a bootstrap attempt costs what an application attempt costs (one store
  // lookup, two hash comparisons) and timing does not tell the bootstrap id apart.
  async function authenticate(request: TokenRequest): Promise<AuthenticationResult | BootstrapResult> {
    const nowMs = now();
    const bootstrap = checkBootstrapCredential(options.bootstrap, request.keyId, request.secret, nowMs);
    const stored = await options.applications.check(request.keyId, request.secret, nowMs);
    return bootstrap ?? stored;
  }

  async function token(req: IncomingMessage, res: ServerResponse, attempt: Attempt): Promise<void> {
    let request: TokenRequest;
    try {
      request =
        attempt.endpoint === 'oauth'
          ? await readOAuthTokenRequest(req, maxBody)
          : await readApiTokenRequest(req, maxBody);
    } catch (err) {
      if (err instanceof OAuthError && err.error === 'invalid_client')
        throw authenticationFailed(attempt, 'no_credentials');
      throw err;
    }
    attempt.keyId = request.keyId;
    const result = await authenticate(request);
    attempt.keyIdKnown = result.ok || result.reason !== 'unknown_key';
    if (!result.ok) throw authenticationFailed(attempt, result.reason);
    const app = result.app;
    const permissions = grantedPermissions(app, request.scope);
    const signer = (await keys()).signer;
    if (!signer) throw new IssuerHttpError(503, 'temporarily_unavailable', 'no signing key is active');
    const nowSeconds = Math.floor(now() / 1000);
    const lifetimeSeconds = tokenLifetimeSeconds(app, defaultLifetime, maxLifetime);
    const minted = await mintAccessToken({
      app,
      permissions,
      key: signer,
      issuer: options.issuer,
      audience: app.audience ?? options.audience,
      lifetimeSeconds,
      nowSeconds,
    });
    metrics.tokensIssued.inc({ endpoint: attempt.endpoint });
    log({ event: 'token_issued', sub: app.id, keyId: request.keyId, jti: minted.jti, kid: signer.kid });
    audit({
      event: 'token_issued',
      app: app.id,
      keyId: request.keyId,
      kid: signer.kid,
      jti: minted.jti,
      expiresAt: new Date((nowSeconds + lifetimeSeconds) * 1000).toISOString(),
      endpoint: attempt.endpoint,
      ip: attempt.ip,
    });
    if (attempt.endpoint === 'api') {
      return sendJson(res, 200, { token: minted.token, expiresIn: minted.expiresInSeconds }, noStore);
    }
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

  async function route(req: IncomingMessage, res: ServerResponse, attempt: Attempt): Promise<void> {
    const path = pathOf(req);
    const allow = (method: string) => {
      if (req.method !== method) {
        throw new IssuerHttpError(405, 'method_not_allowed', `${path} accepts ${method} only`);
      }
    };
    switch (path) {
      case '/oauth/token':
        allow('POST');
        return token(req, res, attempt);
      case '/api/token':
        allow('POST');
        attempt.endpoint = 'api';
        return token(req, res, attempt);
      case '/.well-known/jwks.json': {
        allow('GET');
        const { published } = await keys();
        // A verifier (or a proxy) holding this copy for max-age, then refreshing on its own interval,
        // must still see a new key before it signs: max-age + refresh ≤ the publish-ahead time.
        return sendJson(
          res,
          200,
          { keys: published.map((k) => k.publicJwk) },
          { 'cache-control': `public, max-age=${jwksMaxAge}` },
        );
      }
      case '/health':
        allow('GET');
        return sendJson(res, 200, { status: 'ok' });
      case '/ready': {
        allow('GET');
        const current = await keys().catch(() => undefined);
        if (!current?.signer)
          return sendJson(res, 503, { status: 'not_ready', reason: 'no active signing key' });
        return sendJson(res, 200, { status: 'ready', signingKeys: current.published.length });
      }
      case '/metrics': {
        allow('GET');
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
        return;
      }
      default:
        throw new IssuerHttpError(404, 'not_found', `no route ${path}`);
    }
  }

  function fail(req: IncomingMessage, res: ServerResponse, attempt: Attempt, err: unknown): void {
    const path = pathOf(req);
    if (
      (path === '/oauth/token' || path === '/api/token') &&
      (err instanceof OAuthError || err instanceof IssuerHttpError)
    ) {
      const code = err instanceof OAuthError ? err.error : err.code.replace(/^issuer\./, '');
      metrics.tokenFailures.inc({ reason: code });
      if (code !== 'rate_limited' && code !== 'method_not_allowed') {
        audit({
          event: 'token_failed',
          reason: attempt.reason ?? code,
          endpoint: attempt.endpoint,
          ip: attempt.ip,
          ...keyField(attempt),
        });
      }
    }
    if (res.headersSent) return void res.destroy();
    if (err instanceof OAuthError) {
      const headers: Record<string, string> = { ...noStore };
      if (err.status === 401 && isBasicAuthorization(req.headers.authorization)) {
        headers['www-authenticate'] = 'Basic realm="tokenrelay"';
      }
      sendJson(res, err.status, { error: err.error, error_description: err.message }, headers);
      return;
    }
    if (err instanceof IssuerHttpError) {
      const headers: Record<string, string> = { ...noStore };
      if (err instanceof RateLimitedError) headers['retry-after'] = String(err.retryAfterSeconds);
      const body = { error: err.code.replace(/^issuer\./, ''), error_description: err.message };
      sendJson(res, err.status, body, headers);
      return;
    }
    // Unknown failures: log the class, answer without internals (no stack in any response).
    log({ event: 'request_failed', path, error: (err as Error)?.name ?? 'unknown' });
    sendJson(res, 500, { error: 'server_error', error_description: 'internal error' });
  }

  const serverOptions: ServerOptions = {
    // A client that trickles its request is cut off: it would otherwise hold a socket for as long
    // as it likes. Checked every second (Node's default is 30 s, which makes the limit meaningless).
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    headersTimeout: Math.min(options.requestTimeoutMs ?? 10_000, 5_000),
    connectionsCheckingInterval: 1_000,
  };
  const handler: RequestListener = (req, res) => {
    const started = process.hrtime.bigint();
    const attempt: Attempt = {
      endpoint: 'oauth',
      ip: clientAddress.resolve(req.socket.remoteAddress, req.headers['x-forwarded-for']),
    };
    res.once('finish', () => {
      const path = pathOf(req);
      metrics.requestDuration.observe(
        { route: routes.has(path) ? path : 'other', status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    route(req, res, attempt).catch((err: unknown) => fail(req, res, attempt, err));
  };
  const main = options.tls
    ? createHttpsServer(
        { ...serverOptions, cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' },
        handler,
      )
    : createServer(serverOptions, handler);
  main.on('clientError', answerClientError);
  const plainLoopback = extra.plainLoopback ? createServer(serverOptions, handler) : undefined;
  plainLoopback?.on('clientError', answerClientError);
  return { main, plainLoopback };
}

type BootstrapResult = NonNullable<ReturnType<typeof checkBootstrapCredential>>;

/**
 * Node's own refusals (request timeout, oversized headers, unparsable HTTP) answer in the issuer's
 * JSON error format instead of Node's bare status line, and the socket is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
    const [status, error] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'request_header_fields_too_large']
          : [400, 'invalid_request'];
    const body = JSON.stringify({ error, error_description: STATUS_CODES[status] ?? 'refused' });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function signingKeysSource(keys: SigningKey[] | SigningKeyRing): () => Promise<SigningKeysNow> {
  if (!Array.isArray(keys)) return () => keys.current();
  if (keys.length === 0) throw new TypeError('IssuerOptions.signingKeys must hold at least one key');
  const fixed = { signer: keys.at(-1), published: keys };
  return async () => fixed;
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

/**
 * The key id for logs: only a recognised one, capped and sanitised so an attacker cannot forge lines.
 */
function keyField(attempt: { keyId?: string; keyIdKnown?: boolean }): { keyId?: string } {
  if (attempt.keyId === undefined || !attempt.keyIdKnown) return {};
  return { keyId: attempt.keyId.slice(0, 64).replace(/[^\w.-]/g, '?') };
}
