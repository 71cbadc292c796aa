import type { ApplicationStore, AuthenticationResult } from './applications.js';
import type { AuditEvent, AuditSink } from './audit-log.js';
import { type BootstrapCredential, checkBootstrapCredential } from './bootstrap-credential.js';
import { rateLimitSubject } from './client-address.js';
import type { RateLimitConfig } from './config.js';
import { IssuerHttpError, OAuthError, RateLimitedError } from './errors.js';
import type { IssuerLog } from './issuer-log.js';
import { IssuerMetrics } from './issuer-metrics.js';
import { SlidingWindowLimiter } from './rate-limiter.js';
import type { SigningKeysNow } from './signing-key-ring.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, tokenLifetimeSeconds } from './token-lifetimes.js';
import { type MintedToken, mintAccessToken } from './token-minter.js';
import { grantedPermissions, type TokenRequest } from './token-requests.js';

/** Which door a token request came through: `POST /oauth/token` or `POST /api/token`. */
export type TokenEndpointName = 'oauth' | 'api';

export interface TokenEndpointOptions {
  /** The `iss` claim. */
  issuer: string;
  /** The `aud` claim of applications that name no audience of their own. */
  audience: string;
  /** Lifetime of a token when the application sets none. Default 600. */
  defaultTokenLifetimeSeconds?: number;
  /** No token is minted for longer, whatever its application says. Default 86 400. */
  maxTokenLifetimeSeconds?: number;
  applications: Pick<ApplicationStore, 'check'>;
  /** The signing keys in force now; the endpoint answers 503 while none may sign. */
  signingKeys: () => Promise<SigningKeysNow>;
  /** Credential from the environment for the first setup (bootstrap-credential.ts). */
  bootstrap?: BootstrapCredential;
  /** Failed-authentication limits per client address and per key id. Default 10 per 60 s; `false`: off. */
  rateLimit?: RateLimitConfig | false;
  /** Receives token_issued, token_failed and rate_limited. */
  audit?: AuditSink;
  metrics?: IssuerMetrics;
  log?: IssuerLog;
  now?: () => number;
}

/** One token request, as the HTTP layer hands it over. */
export interface TokenCall {
  endpoint: TokenEndpointName;
  /** The client's address (X-Forwarded-For resolved against trusted proxies): the per-address limit's subject. */
  ip: string;
  /**
   * Reads the credentials (and scope) from the request. Throws {@link OAuthError} or
   * {@link IssuerHttpError} for a malformed or oversized one; `invalid_client` when it carries none.
   */
  read: () => Promise<TokenRequest>;
}

/**
 * A token, or the refusal to answer with. Unexpected failures (a signing-key file that cannot be
 * read) are thrown instead: they are the server's fault and answered 500 without details.
 */
export type TokenOutcome =
  | { ok: true; token: MintedToken }
  | { ok: false; error: OAuthError | IssuerHttpError };

/** Per-request facts the failure path needs for the audit log. */
interface Attempt {
  endpoint: TokenEndpointName;
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
 * The token endpoint without HTTP: authenticate the client, mint its token, audit the outcome.
 *
 * Failed authentications are limited per key id and per client address, and the limit is consulted
 * only after the secret was checked: a correct secret is accepted whatever anyone else did. Key ids are
 * public and addresses are shared (NAT, proxies), so refusing a correct secret because of failures
 * under its key id or its address would let anyone lock out a real client; and the secrets are 256-bit
 * random (the bootstrap secret must be comparably strong), so the limit is not what stops guessing.
 * What it does: failed attempts beyond the limit are answered 429 with Retry-After, counted and
 * audited, and a blocked subject stays blocked whatever else fails (rate-limiter.ts).
 *
 * @example
 * const endpoint = new TokenEndpoint({ issuer, audience, applications, signingKeys: () => ring.current() });
 * const outcome = await endpoint.handle({ endpoint: 'api', ip: '10.0.0.7', read: async () => request });
 */
export class TokenEndpoint {
  private readonly options: TokenEndpointOptions;
  private readonly now: () => number;
  private readonly log: IssuerLog;
  private readonly metrics: IssuerMetrics;
  private readonly limiters: { key: SlidingWindowLimiter; ip: SlidingWindowLimiter } | undefined;

  constructor(options: TokenEndpointOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    this.metrics = options.metrics ?? new IssuerMetrics();
    const windowMs = (options.rateLimit ? options.rateLimit.windowSeconds : 60) * 1000;
    const maxFailures = (options.rateLimit ? options.rateLimit.maxFailures : undefined) ?? 10;
    this.limiters =
      options.rateLimit === false
        ? undefined
        : {
            key: new SlidingWindowLimiter({ maxFailures, windowMs, now: this.now }),
            ip: new SlidingWindowLimiter({
              maxFailures: options.rateLimit?.maxFailuresPerIp ?? 5 * maxFailures,
              windowMs,
              now: this.now,
            }),
          };
  }

  /** Answers one token request; every refusal is counted and (but for a 429, audited on its own) audited. */
  async handle(call: TokenCall): Promise<TokenOutcome> {
    const attempt: Attempt = { endpoint: call.endpoint, ip: call.ip };
    try {
      return { ok: true, token: await this.issue(call, attempt) };
    } catch (err) {
      if (!(err instanceof OAuthError || err instanceof IssuerHttpError)) throw err;
      const code = err instanceof OAuthError ? err.error : err.code.replace(/^issuer\./, '');
      this.metrics.tokenFailures.inc({ reason: code });
      if (code !== 'rate_limited') {
        this.audit({
          event: 'token_failed',
          reason: attempt.reason ?? code,
          endpoint: attempt.endpoint,
          ip: attempt.ip,
          ...keyField(attempt),
        });
      }
      return { ok: false, error: err };
    }
  }

  private async issue(call: TokenCall, attempt: Attempt): Promise<MintedToken> {
    let request: TokenRequest;
    try {
      request = await call.read();
    } catch (err) {
      if (err instanceof OAuthError && err.error === 'invalid_client')
        throw this.authenticationFailed(attempt, 'no_credentials');
      throw err;
    }
    attempt.keyId = request.keyId;
    const result = await this.authenticate(request);
    attempt.keyIdKnown = result.ok || result.reason !== 'unknown_key';
    if (!result.ok) throw this.authenticationFailed(attempt, result.reason);
    const app = result.app;
    const permissions = grantedPermissions(app, request.scope);
    const signer = (await this.options.signingKeys()).signer;
    if (!signer) throw new IssuerHttpError(503, 'temporarily_unavailable', 'no signing key is active');
    const nowSeconds = Math.floor(this.now() / 1000);
    const lifetimeSeconds = tokenLifetimeSeconds(
      app,
      this.options.defaultTokenLifetimeSeconds ?? 600,
      this.options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    );
    const minted = await mintAccessToken({
      app,
      permissions,
      key: signer,
      issuer: this.options.issuer,
      audience: app.audience ?? this.options.audience,
      lifetimeSeconds,
      nowSeconds,
    });
    this.metrics.tokensIssued.inc({ endpoint: attempt.endpoint });
    this.log({ event: 'token_issued', sub: app.id, keyId: request.keyId, jti: minted.jti, kid: signer.kid });
    this.audit({
      event: 'token_issued',
      app: app.id,
      keyId: request.keyId,
      kid: signer.kid,
      jti: minted.jti,
      expiresAt: new Date((nowSeconds + lifetimeSeconds) * 1000).toISOString(),
      endpoint: attempt.endpoint,
      ip: attempt.ip,
    });
    return minted;
  }

  // Both checks always run, so a bootstrap attempt costs what an application attempt costs (one store
  // lookup, two hash comparisons) and timing does not tell the bootstrap id apart.
  private async authenticate(request: TokenRequest): Promise<AuthenticationResult | BootstrapResult> {
    const nowMs = this.now();
    const bootstrap = checkBootstrapCredential(this.options.bootstrap, request.keyId, request.secret, nowMs);
    const stored = await this.options.applications.check(request.keyId, request.secret, nowMs);
    return bootstrap ?? stored;
  }

  /**
   * Counts a failed authentication and answers it: 401, or 429 when the key id or the address had
   * already reached its limit before this attempt (so the attempt that crosses the limit is the first
   * answered 429).
   */
  private authenticationFailed(attempt: Attempt, reason: string): OAuthError | RateLimitedError {
    attempt.reason = reason;
    const ipSubject = rateLimitSubject(attempt.ip);
    const keySubject = attempt.keyIdKnown ? attempt.keyId : undefined;
    const ipWait = this.limiters?.ip.blockedForMs(ipSubject) ?? 0;
    const keyWait = keySubject === undefined ? 0 : (this.limiters?.key.blockedForMs(keySubject) ?? 0);
    this.limiters?.ip.recordFailure(ipSubject);
    if (keySubject !== undefined) this.limiters?.key.recordFailure(keySubject);
    this.log({ event: 'token_refused', reason: 'invalid_client', ...keyField(attempt) });
    const wait = Math.max(ipWait, keyWait);
    if (wait === 0) return new OAuthError('invalid_client', 'client authentication failed');
    const scope = ipWait >= keyWait ? 'ip' : 'key';
    this.metrics.rateLimited.inc({ scope });
    this.audit({
      event: 'rate_limited',
      scope,
      reason,
      endpoint: attempt.endpoint,
      ip: attempt.ip,
      ...keyField(attempt),
    });
    return new RateLimitedError(Math.ceil(wait / 1000));
  }

  // Auditing never fails or delays the request it records; a failed write is reported on the log.
  private audit(event: AuditEvent): void {
    Promise.resolve()
      .then(() => this.options.audit?.(event))
      .catch((err: unknown) =>
        this.log({ event: 'request_failed', path: 'audit', error: (err as Error)?.name ?? 'unknown' }),
      );
  }
}

type BootstrapResult = NonNullable<ReturnType<typeof checkBootstrapCredential>>;

/**
 * The key id for logs: only a recognised one, capped and sanitised so an attacker cannot forge lines.
 */
function keyField(attempt: { keyId?: string; keyIdKnown?: boolean }): { keyId?: string } {
  if (attempt.keyId === undefined || !attempt.keyIdKnown) return {};
  return { keyId: attempt.keyId.slice(0, 64).replace(/[^\w.-]/g, '?') };
}
