import { inspect } from 'node:util';
import { generateKeyPair, SignJWT } from 'jose';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClientCredentialsTokenSource, KeySecretTokenSource } from '../../../src/auth/client-credentials.js';
import { AuthError } from '../../../src/auth/errors.js';
import { RefreshingToken } from '../../../src/auth/refreshing-token.js';
import { MAX_ERROR_DESCRIPTION, sanitizeDescription } from '../../../src/auth/token-http.js';
import { StaticTokenSource } from '../../../src/auth/token-source.js';

const origin = 'https://issuer.test';
const secret = 's3cret with spaces:and colon';
let agent: MockAgent;

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
});
afterEach(async () => {
  await agent.close();
});

function clientCredentials(
  extra: Partial<ConstructorParameters<typeof ClientCredentialsTokenSource>[0]> = {},
) {
  return new ClientCredentialsTokenSource({
    tokenUrl: `${origin}/oauth/token`,
    clientId: 'app id',
    clientSecret: secret,
    dispatcher: agent,
    ...extra,
  });
}

async function jwtWithClock(offsetMs: number, lifetimeS: number): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  const iat = Math.floor((Date.now() + offsetMs) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetimeS)
    .sign(privateKey);
}

async function failure(promise: Promise<unknown>): Promise<AuthError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  expect((err as Error).message).not.toContain(secret);
  return err as AuthError;
}

describe('ClientCredentialsTokenSource', () => {
  it('authenticates with HTTP Basic over form-encoded id and secret (RFC 6749 §2.3.1)', async () => {
    let seen: { headers: Record<string, string>; body: string } | undefined;
    agent
      .get(origin)
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply((req) => {
        seen = { headers: req.headers as Record<string, string>, body: String(req.body) };
        return { statusCode: 200, data: { access_token: 'tok', token_type: 'Bearer', expires_in: 60 } };
      });
    const before = Date.now();
    const result = await clientCredentials({ scope: 'default:write' }).getToken();
    expect(result.token).toBe('tok');
    expect(result.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    const basic = Buffer.from(String(seen?.headers.authorization).replace('Basic ', ''), 'base64').toString();
    expect(basic).toBe('app+id:s3cret+with+spaces%3Aand+colon');
    expect(new URLSearchParams(seen?.body)).toEqual(
      new URLSearchParams({ grant_type: 'client_credentials', scope: 'default:write' }),
    );
  });

  it('can send the credentials as form fields instead', async () => {
    let body = '';
    agent
      .get(origin)
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply((req) => {
        body = String(req.body);
        return { statusCode: 200, data: { access_token: 'tok', expires_in: 60 } };
      });
    await clientCredentials({ clientAuth: 'body' }).getToken();
    const form = new URLSearchParams(body);
    expect(form.get('client_id')).toBe('app id');
    expect(form.get('client_secret')).toBe(secret);
  });

  it.each([
    [401, { error: 'invalid_client' }, 'auth.token_endpoint_rejected', false],
    [400, { error: 'invalid_scope' }, 'auth.token_endpoint_rejected', false],
    [503, 'unavailable', 'auth.token_endpoint_failed', true],
    [200, 'not json', 'auth.invalid_token_response', true],
    [200, { token_type: 'Bearer' }, 'auth.invalid_token_response', true],
    [200, { access_token: 'tok', expires_in: 0 }, 'auth.invalid_token_response', true],
    [200, { access_token: 'tok', expires_in: -5 }, 'auth.invalid_token_response', true],
    [200, { access_token: 'tok', expires_in: '60' }, 'auth.invalid_token_response', true],
    [200, { access_token: 'not-a-jwt' }, 'auth.token_not_jwt', true],
  ] as const)('maps HTTP %i %j to %s without the secret', async (status, data, code, retryable) => {
    agent.get(origin).intercept({ path: '/oauth/token', method: 'POST' }).reply(status, data);
    const err = await failure(clientCredentials().getToken());
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    if (typeof data === 'object' && 'error' in data) expect(err.oauthError).toBe(data.error);
  });

  it('reports an unreachable endpoint as such', async () => {
    agent
      .get(origin)
      .intercept({ path: '/oauth/token', method: 'POST' })
      .replyWithError(new Error('ECONNREFUSED'));
    expect((await failure(clientCredentials().getToken())).code).toBe('auth.token_endpoint_unreachable');
  });

  it('rejects missing options with a TypeError naming them', () => {
    expect(
      () => new ClientCredentialsTokenSource({ tokenUrl: `${origin}/t`, clientId: '', clientSecret: 'x' }),
    ).toThrow(/clientId/);
    expect(() => clientCredentials({ clientAuth: 'digest' as never })).toThrow(/clientAuth/);
    expect(() => clientCredentials({ tokenUrl: 'issuer/oauth/token' })).toThrow(
      /tokenUrl must be an absolute URL/,
    );
    expect(() => new KeySecretTokenSource({ url: 'nope', keyId: 'k', keySecret: 's' })).toThrow(
      /url must be an absolute URL/,
    );
  });
});

describe('ClientCredentialsTokenSource transport and error safety', () => {
  it.each([
    'http://127.0.0.1:17380/oauth/token',
    'http://localhost/oauth/token',
    'http://[::1]:8080/oauth/token',
    'https://auth.example.com/oauth/token',
  ])('accepts %s', (tokenUrl) => {
    expect(() => clientCredentials({ tokenUrl })).not.toThrow();
  });

  it('refuses plain http to any other host unless allowInsecureHttp is set', () => {
    expect(() => clientCredentials({ tokenUrl: 'http://auth.example.com/oauth/token' })).toThrow(
      /plain http on a host other than loopback.*allowInsecureHttp/,
    );
    expect(() => clientCredentials({ tokenUrl: 'http://10.0.0.5/oauth/token' })).toThrow(TypeError);
    expect(() =>
      clientCredentials({ tokenUrl: 'http://auth.example.com/oauth/token', allowInsecureHttp: true }),
    ).not.toThrow();
    expect(
      () =>
        new KeySecretTokenSource({ url: 'http://auth.example.com/api/token', keyId: 'k', keySecret: 's' }),
    ).toThrow(/allowInsecureHttp/);
    expect(() => clientCredentials({ tokenUrl: 'ftp://auth.example.com/token' })).toThrow(/https/);
  });

  it('refuses a URL carrying credentials without echoing them', () => {
    let message = '';
    try {
      clientCredentials({ tokenUrl: 'https://user:hunter2@auth.example.com/oauth/token' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/must not carry credentials/);
    expect(message).not.toContain('hunter2');
    expect(() => clientCredentials({ tokenUrl: 'not a url hunter2' })).toThrow(
      /^tokenUrl must be an absolute URL$/,
    );
  });

  it('passes the endpoint’s error_description on, sanitised, bounded and without the secret', async () => {
    agent
      .get(origin)
      .intercept({ path: '/oauth/token', method: 'POST' })
      .reply(401, {
        error: 'invalid_client',
        error_description: `Client authentication failed\n\u001b[31m(the client used client_secret_basic, expected client_secret_post) secret=${secret}`,
      });
    const err = await failure(clientCredentials().getToken());
    expect(err.code).toBe('auth.token_endpoint_rejected');
    expect(err.oauthError).toBe('invalid_client');
    expect(err.message).toContain(
      'HTTP 401 (invalid_client: Client authentication failed [31m(the client used client_secret_basic, expected client_secret_post) secret=[redacted])',
    );
    expect([...err.message].some((c) => (c.codePointAt(0) ?? 0) < 0x20)).toBe(false);
    expect(err.message).toMatch(/client authentication method/);
  });

  it('bounds a long description', () => {
    const text = sanitizeDescription('x'.repeat(5_000)) ?? '';
    expect(text.length).toBe(MAX_ERROR_DESCRIPTION);
    expect(text.endsWith('…')).toBe(true);
    expect(sanitizeDescription(42)).toBeUndefined();
    expect(sanitizeDescription(' \n ')).toBeUndefined();
  });

  it('never shows the query string of the endpoint in a message', async () => {
    agent
      .get(origin)
      .intercept({ path: '/oauth/token?tenant=acme', method: 'POST' })
      .replyWithError(new Error('ECONNREFUSED'));
    const err = await failure(
      clientCredentials({ tokenUrl: `${origin}/oauth/token?tenant=acme` }).getToken(),
    );
    expect(err.message).toContain(`token endpoint ${origin}/oauth/token is unreachable`);
    expect(err.message).not.toContain('tenant=acme');
  });
});

describe('token sources and RefreshingToken keep their secrets out of JSON and inspection', () => {
  it.each([
    [
      'ClientCredentialsTokenSource',
      () => clientCredentials({ scope: 'default:write', audience: 'temporal' }),
    ],
    [
      'KeySecretTokenSource',
      () => new KeySecretTokenSource({ url: `${origin}/api/token`, keyId: 'trk_1', keySecret: secret }),
    ],
    ['StaticTokenSource', () => new StaticTokenSource(secret)],
  ] as const)('%s', (name, make) => {
    const source = make();
    for (const shown of [
      JSON.stringify(source),
      JSON.stringify({ nested: { source } }),
      inspect(source, { depth: 10, showHidden: true }),
      JSON.stringify({ ...source }),
      String(Object.values(source)),
    ]) {
      expect(shown).not.toContain(secret);
    }
    expect(JSON.parse(JSON.stringify(source)).type).toBe(name);
    expect(inspect(source)).toMatch(new RegExp(`^${name} `));
  });

  it('RefreshingToken shows its state, never the token or the source', async () => {
    const token = new RefreshingToken({ source: new StaticTokenSource(secret, Date.now() + 60_000) });
    await token.get();
    for (const shown of [JSON.stringify({ token }), inspect(token, { depth: 10, showHidden: true })]) {
      expect(shown).not.toContain(secret);
    }
    expect(JSON.parse(JSON.stringify(token))).toMatchObject({
      type: 'RefreshingToken',
      valid: true,
      consecutiveFailures: 0,
      lastError: null,
    });
    token.stop();
  });
});

describe('KeySecretTokenSource', () => {
  const source = () =>
    new KeySecretTokenSource({
      url: `${origin}/api/token`,
      keyId: 'trk_1',
      keySecret: secret,
      dispatcher: agent,
    });

  it.each([
    ['five minutes ahead', 5 * 60_000],
    ['five minutes behind', -5 * 60_000],
  ])('measures the lifetime on the issuer clock, so an issuer %s changes nothing', async (_label, offset) => {
    const token = await jwtWithClock(offset, 600);
    let body = '';
    agent
      .get(origin)
      .intercept({ path: '/api/token', method: 'POST' })
      .reply((req) => {
        body = String(req.body);
        return { statusCode: 200, data: { token } };
      });
    const before = Date.now();
    const result = await source().getToken();
    expect(JSON.parse(body)).toEqual({ keyId: 'trk_1', keySecret: secret });
    expect(result.expiresAt - before).toBeGreaterThanOrEqual(599_000);
    expect(result.expiresAt - Date.now()).toBeLessThanOrEqual(600_000);
  });

  it('refuses a token that is not a JWT, because its expiry cannot be known', async () => {
    agent.get(origin).intercept({ path: '/api/token', method: 'POST' }).reply(200, { token: 'opaque' });
    expect((await failure(source().getToken())).code).toBe('auth.token_not_jwt');
  });
});
