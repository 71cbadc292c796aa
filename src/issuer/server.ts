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
import type { ApplicationStore } from './applications.js';
import type { AuditSink } from './audit-log.js';
import type { BootstrapCredential } from './bootstrap-credential.js';
import { clientAddressResolver } from './client-address.js';
import type { RateLimitConfig } from './config.js';
import { IssuerHttpError, OAuthError, RateLimitedError } from './errors.js';
import { sendJson, sendJsonWhileBodyArrives } from './http-io.js';
import type { IssuerLogEvent } from './issuer-log.js';
import { IssuerMetrics } from './issuer-metrics.js';
import type { SigningKeyRing, SigningKeysNow } from './signing-key-ring.js';
import type { SigningKey } from './signing-keys.js';
import { TokenEndpoint, type TokenEndpointName } from './token-endpoint.js';
import { isBasicAuthorization, readApiTokenRequest, readOAuthTokenRequest } from './token-requests.js';

export type { IssuerLogEvent } from './issuer-log.js';

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
 * Routing and HTTP only: what a token request gets (authentication, rate limits, minting, audit) is
 * decided by {@link TokenEndpoint} (token-endpoint.ts), which knows nothing of HTTP.
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
  const maxBody = options.maxBodyBytes ?? 16 * 1024;
  const jwksMaxAge = options.jwksMaxAgeSeconds ?? 30;
  const log = options.log ?? (() => {});
  const clientAddress = clientAddressResolver(options.trustedProxies ?? []);
  const metrics = options.metrics ?? new IssuerMetrics();
  // One endpoint for both listeners: they share the rate limits.
  const tokenEndpoint = new TokenEndpoint({ ...options, signingKeys: keys, metrics, log });

  async function token(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: TokenEndpointName,
  ): Promise<void> {
    const outcome = await tokenEndpoint.handle({
      endpoint,
      ip: clientAddress.resolve(req.socket.remoteAddress, req.headers['x-forwarded-for']),
      read: () =>
        endpoint === 'oauth' ? readOAuthTokenRequest(req, maxBody) : readApiTokenRequest(req, maxBody),
    });
    if (!outcome.ok) throw outcome.error;
    const minted = outcome.token;
    if (endpoint === 'api') {
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

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    const allow = (method: string) => {
      if (req.method !== method) {
        throw new IssuerHttpError(405, 'method_not_allowed', `${path} accepts ${method} only`);
      }
    };
    switch (path) {
      case '/oauth/token':
        allow('POST');
        return token(req, res, 'oauth');
      case '/api/token':
        allow('POST');
        return token(req, res, 'api');
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

  // Refusals from the token endpoint arrive counted and audited (token-endpoint.ts); a wrong method on
  // its paths never reaches it, and is counted here. A refusal may come before the body was read: the
  // connection then stays open until the client sent it all, or its write fails before it reads our
  // answer (sendJsonWhileBodyArrives in http-io.ts).
  function fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const path = pathOf(req);
    if (
      (path === '/oauth/token' || path === '/api/token') &&
      err instanceof IssuerHttpError &&
      err.code === 'issuer.method_not_allowed'
    ) {
      metrics.tokenFailures.inc({ reason: 'method_not_allowed' });
    }
    if (res.headersSent) return void res.destroy();
    if (err instanceof OAuthError) {
      const headers: Record<string, string> = { ...noStore };
      if (err.status === 401 && isBasicAuthorization(req.headers.authorization)) {
        headers['www-authenticate'] = 'Basic realm="tokenrelay"';
      }
      const body = { error: err.error, error_description: err.message };
      sendJsonWhileBodyArrives(req, res, err.status, body, headers);
      return;
    }
    if (err instanceof IssuerHttpError) {
      const headers: Record<string, string> = { ...noStore };
      if (err instanceof RateLimitedError) headers['retry-after'] = String(err.retryAfterSeconds);
      const body = { error: err.code.replace(/^issuer\./, ''), error_description: err.message };
      sendJsonWhileBodyArrives(req, res, err.status, body, headers);
      return;
    }
    // Unknown failures: log the class, answer without internals (no stack in any response).
    log({ event: 'request_failed', path, error: (err as Error)?.name ?? 'unknown' });
    sendJsonWhileBodyArrives(req, res, 500, { error: 'server_error', error_description: 'internal error' });
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
    res.once('finish', () => {
      const path = pathOf(req);
      metrics.requestDuration.observe(
        { route: routes.has(path) ? path : 'other', status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    route(req, res).catch((err: unknown) => fail(req, res, err));
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
