import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { decodeJwt } from 'jose';
import { createTokenValidator, TokenValidationError } from '../index.js';
// The issuer's HTTP plumbing (bounded body reads, its JSON answers) is internal; the stand-in API
// borrows it rather than keep a copy.
import { IssuerHttpError } from '../issuer/errors.js';
import { mediaType, readBody, sendJson } from '../issuer/http-io.js';
import { writeJsonFileAtomic } from '../json-file.js';

export interface DemoApiOptions {
  /** The issuer whose tokens are accepted (`iss`). */
  issuer: string;
  jwksUrl: string;
  /** PEM of the CA that signed the issuer's certificate, when the JWKS URL is https with a private CA. */
  jwksCaCertPath?: string;
  /** Only tokens issued for this audience are accepted: Temporal's tokens are not. */
  audience: string;
  /** Where revoked token ids are kept, so a restart does not forget a revocation. */
  revokedPath: string;
  /** Revocations kept at most; beyond that, new ones are refused until old ones expire. Default 1 000. */
  maxRevoked?: number;
  /**
   * How long a revocation by bare `jti` is kept: no token outlives the issuer's maximum lifetime, so
   * after it the entry protects nothing. Default 86 400 (the issuer's default cap). A revocation that
   * sends the token itself is kept exactly until the token's `exp`.
   */
  revokedRetentionSeconds?: number;
  /**
   * Host names (besides `localhost`, `127.0.0.1` and `[::1]`) a request may address. Any other `Host`
   * is refused, so a web page cannot reach the API through DNS rebinding.
   */
  allowedHosts?: string[];
  /** How long a client may take to send its whole request. Default 10 000 ms. */
  requestTimeoutMs?: number;
  now?: () => number;
}

export interface DemoApiStats {
  accepted: number;
  /** Refusals by reason: `revoked`, `token.expired`, `token.wrong_audience`, `missing_token`, … */
  rejected: Record<string, number>;
  /**
   * Accepted calls per token id, only for the ids the caller names (`/stats?jti=<id>&jti=<id>`, up to
   * 10): a client can see which of its tokens a workflow tree uses, but nobody can list live token ids.
   */
  acceptedByJti: Record<string, number>;
}

/** One revocation: the token id and when keeping it stops mattering (the token's expiry). */
interface Revocation {
  jti: string;
  untilMs: number;
}

const jtiPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const maxStatsIds = 10;
/** Token ids whose calls are counted at most; beyond that, new ids are not counted (memory bound). */
const maxCountedIds = 10_000;

/**
 * The reference application's protected HTTP API: a stand-in for the external service whose token the
 * workflow trees carry. Every route except `/health`, `/stats` and `/admin/*` requires
 * `authorization: Bearer <jwt>` signed by the issuer for this API's audience and not revoked.
 *
 * `/admin/revoke` is for the dev stack only: the demo revokes a rotated-out token with it. It listens on
 * loopback, and since a browser on the same machine can still reach loopback, it takes JSON only (a
 * form or `text/plain` post from a web page is refused), refuses a cross-origin `Origin` or
 * `Sec-Fetch-Site`, and every route refuses a `Host` it does not serve (DNS rebinding).
 */
export async function createDemoApiServer(options: DemoApiOptions): Promise<Server> {
  const now = options.now ?? Date.now;
  const maxRevoked = options.maxRevoked ?? 1_000;
  const retentionMs = (options.revokedRetentionSeconds ?? 86_400) * 1000;
  const validate = createTokenValidator({
    jwks: new URL(options.jwksUrl),
    issuer: options.issuer,
    audience: options.audience,
    ...(options.jwksCaCertPath ? { jwksCa: await readFile(options.jwksCaCertPath, 'utf8') } : {}),
  });
  const revoked = new Map<string, number>(
    (await readRevoked(options.revokedPath, now() + retentionMs)).map((r) => [r.jti, r.untilMs]),
  );
  const accepted = { total: 0, byJti: new Map<string, number>() };
  const rejected: Record<string, number> = {};
  const allowedHosts = new Set(['localhost', '127.0.0.1', '[::1]', ...(options.allowedHosts ?? [])]);

  const reject = (res: ServerResponse, reason: string, description: string) => {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    res.setHeader('www-authenticate', `Bearer error="invalid_token"`);
    sendJson(res, 401, { error: 'invalid_token', reason, error_description: description });
  };
  const refuse = (res: ServerResponse, status: number, error: string, description: string) =>
    sendJson(res, status, { error, error_description: description });

  const prune = () => {
    const at = now();
    for (const [jti, untilMs] of revoked) if (untilMs <= at) revoked.delete(jti);
  };

  /** `Host` must name this server: a loopback name (or an allowed one) and the port it listens on. */
  function hostAllowed(req: IncomingMessage): boolean {
    const host = req.headers.host;
    if (!host || !URL.canParse(`http://${host}`)) return false;
    const url = new URL(`http://${host}`);
    const port = url.port === '' ? 80 : Number(url.port);
    return allowedHosts.has(url.hostname) && port === req.socket.localPort;
  }

  /** A browser names the page's origin; it must be this server's. Non-browser clients send neither. */
  function sameOrigin(req: IncomingMessage): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    const origin = req.headers.origin;
    return origin === undefined || origin === `http://${req.headers.host}`;
  }

  async function revoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST')
      return refuse(res, 405, 'method_not_allowed', '/admin/revoke accepts POST only');
    if (!sameOrigin(req)) return refuse(res, 403, 'forbidden_origin', 'cross-origin requests are refused');
    if (mediaType(req) !== 'application/json') {
      return refuse(res, 415, 'unsupported_media_type', 'send {"jti": "<token id>"} as application/json');
    }
    let body: { jti?: unknown; token?: unknown };
    try {
      body = (JSON.parse(await readBody(req, 8192)) ?? {}) as typeof body;
    } catch (err) {
      if (err instanceof IssuerHttpError)
        return refuse(res, err.status, err.code.replace(/^issuer\./, ''), err.message);
      return refuse(res, 400, 'invalid_request', 'the body is not JSON');
    }
    const entry = revocationOf(body, now() + retentionMs);
    if (!entry) {
      return refuse(
        res,
        400,
        'invalid_request',
        'body must be {"jti": "<token id>"} (letters, digits, ._:-, up to 128) or {"token": "<jwt>"}',
      );
    }
    prune();
    if (!revoked.has(entry.jti) && revoked.size >= maxRevoked) {
      return refuse(
        res,
        507,
        'revocation_list_full',
        `${maxRevoked} revocations are held; older ones drop out as their tokens expire`,
      );
    }
    revoked.set(entry.jti, Math.max(entry.untilMs, revoked.get(entry.jti) ?? 0));
    await writeJsonFileAtomic(options.revokedPath, {
      revoked: [...revoked].map(([jti, untilMs]) => ({ jti, until: new Date(untilMs).toISOString() })),
    });
    res.statusCode = 204;
    res.end();
  }

  function stats(req: IncomingMessage, res: ServerResponse): void {
    const asked = new URL(req.url ?? '/', 'http://localhost').searchParams
      .getAll('jti')
      .slice(0, maxStatsIds);
    const body: DemoApiStats = {
      accepted: accepted.total,
      rejected,
      acceptedByJti: Object.fromEntries(asked.map((jti) => [jti, accepted.byJti.get(jti) ?? 0])),
    };
    sendJson(res, 200, body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req))
      return refuse(res, 421, 'misdirected_request', 'this server does not serve that Host');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/stats') return stats(req, res);
    if (path === '/admin/revoke') return revoke(req, res);
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match?.[1]) return reject(res, 'missing_token', 'send authorization: Bearer <token>');
    const token = match[1];
    let jti: string | undefined;
    try {
      const verified = await validate(token);
      jti = typeof verified.payload.jti === 'string' ? verified.payload.jti : undefined;
    } catch (err) {
      const code = err instanceof TokenValidationError ? err.code : 'token.invalid';
      return reject(res, code, 'the token was not accepted');
    }
    if (jti === undefined || (revoked.get(jti) ?? 0) > now()) {
      return reject(res, 'revoked', 'the token was revoked');
    }
    accepted.total += 1;
    if (accepted.byJti.has(jti) || accepted.byJti.size < maxCountedIds) {
      accepted.byJti.set(jti, (accepted.byJti.get(jti) ?? 0) + 1);
    }
    sendJson(res, 200, { ok: true, path, sub: decodeJwt(token).sub });
  }

  const server = createServer(
    {
      // A client that trickles its request is cut off instead of holding a socket for as long as it likes.
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      headersTimeout: Math.min(options.requestTimeoutMs ?? 10_000, 5_000),
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
        else res.end();
      });
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable && err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    socket.destroy();
  });
  return server;
}

/** The revocation a request asks for: a token id kept for the retention time, or a token kept until its exp. */
function revocationOf(
  body: { jti?: unknown; token?: unknown },
  defaultUntilMs: number,
): Revocation | undefined {
  if (typeof body.jti === 'string' && jtiPattern.test(body.jti))
    return { jti: body.jti, untilMs: defaultUntilMs };
  if (typeof body.token !== 'string' || body.token.length > 8192) return undefined;
  try {
    const { jti, exp } = decodeJwt(body.token);
    if (typeof jti !== 'string' || !jtiPattern.test(jti)) return undefined;
    // A token claiming to live longer than the retention time is kept for the retention time only.
    const untilMs = typeof exp === 'number' ? Math.min(exp * 1000, defaultUntilMs) : defaultUntilMs;
    return { jti, untilMs };
  } catch {
    return undefined;
  }
}

/** Revocations on disk: `{ revoked: [{ jti, until }] }`, or the older list of ids (kept for the retention time). */
async function readRevoked(path: string, defaultUntilMs: number): Promise<Revocation[]> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
  const entries = Array.isArray(data) ? data : (data as { revoked?: unknown } | null)?.revoked;
  if (!Array.isArray(entries)) return [];
  const out: Revocation[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string' && jtiPattern.test(entry))
      out.push({ jti: entry, untilMs: defaultUntilMs });
    const e = entry as { jti?: unknown; until?: unknown } | null;
    if (typeof e?.jti === 'string' && jtiPattern.test(e.jti) && typeof e.until === 'string') {
      const untilMs = Date.parse(e.until);
      if (!Number.isNaN(untilMs)) out.push({ jti: e.jti, untilMs: Math.min(untilMs, defaultUntilMs) });
    }
  }
  return out;
}

export interface DemoApiConfig extends DemoApiOptions {
  host: string;
  port: number;
}

/** Starts the demo API from its JSON config file (written by `dev up`) and resolves once it listens. */
export async function startDemoApi(configPath: string): Promise<{ url: string; close(): Promise<void> }> {
  const config = JSON.parse(await readFile(configPath, 'utf8')) as DemoApiConfig;
  const server = await createDemoApiServer(config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  return {
    url: `http://${config.host}:${config.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
