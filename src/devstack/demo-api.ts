import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import { readBody, sendJson } from '../issuer/http-io.js';
import { createTokenValidator, TokenValidationError } from '../issuer/validate-token.js';
import { writeJsonFileAtomic } from '../json-file.js';

export interface DemoApiOptions {
  /** The issuer whose tokens are accepted (`iss`). */
  issuer: string;
  jwksUrl: string;
  /** Only tokens issued for this audience are accepted: Temporal's tokens are not. */
  audience: string;
  /** Where revoked token ids are kept, so a restart does not forget a revocation. */
  revokedPath: string;
}

export interface DemoApiStats {
  accepted: number;
  /** Refusals by reason: `revoked`, `token.expired`, `token.wrong_audience`, `missing_token`, … */
  rejected: Record<string, number>;
  /** Accepted calls per token id, so a client can see which token a workflow tree is using. */
  acceptedByJti: Record<string, number>;
}

/**
 * The reference application's protected HTTP API: a stand-in for the external service whose token the
 * workflow trees carry. Every route except `/health`, `/stats` and `/admin/*` requires
 * `authorization: Bearer <jwt>` signed by the issuer for this API's audience and not revoked.
 * `/admin/revoke` is for the dev stack only (it listens on loopback): the demo revokes a rotated-out
 * token with it.
 */
export async function createDemoApiServer(options: DemoApiOptions): Promise<Server> {
  const validate = createTokenValidator({
    jwks: new URL(options.jwksUrl),
    issuer: options.issuer,
    audience: options.audience,
  });
  const revoked = new Set<string>(await readRevoked(options.revokedPath));
  const stats: DemoApiStats = { accepted: 0, rejected: {}, acceptedByJti: {} };
  const reject = (res: ServerResponse, reason: string, description: string) => {
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
    res.setHeader('www-authenticate', `Bearer error="invalid_token"`);
    sendJson(res, 401, { error: 'invalid_token', reason, error_description: description });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/stats') return sendJson(res, 200, stats);
    if (path === '/admin/revoke') {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
      let body: { jti?: unknown };
      try {
        body = JSON.parse((await readBody(req, 4096)) || '{}') as { jti?: unknown };
      } catch {
        body = {};
      }
      if (typeof body.jti !== 'string' || body.jti === '') {
        return sendJson(res, 400, {
          error: 'invalid_request',
          error_description: 'body must be {"jti": "<token id>"}',
        });
      }
      revoked.add(body.jti);
      await writeJsonFileAtomic(options.revokedPath, [...revoked]);
      res.statusCode = 204;
      res.end();
      return;
    }
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
    if (jti === undefined || revoked.has(jti)) return reject(res, 'revoked', 'the token was revoked');
    stats.accepted += 1;
    stats.acceptedByJti[jti] = (stats.acceptedByJti[jti] ?? 0) + 1;
    sendJson(res, 200, { ok: true, path, sub: decodeJwt(token).sub });
  }

  return createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.end();
    });
  });
}

async function readRevoked(path: string): Promise<string[]> {
  try {
    const list = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
