// Hostile requests to the issuer: each gets the right 4xx with a stable JSON `error` code — never a
// 500, never a stack trace — and the issuer stays healthy. Runs against an issuer process of its own
// (test/faults/helpers.ts startSeparateIssuer): these requests would trip the shared stack's rate limiter.
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  persistRegistryUnder,
  printTable,
  recordSecret,
  type SeparateIssuer,
  saveCapturedOutput,
  scanForSecrets,
  startSeparateIssuer,
} from '../faults/helpers.js';
import { describeSecretsScan } from '../faults/secrets-scan-suite.js';
import { testPort } from '../support/ports.js';
import { devConfig } from '../support/stack.js';
import { until } from '../support/wait.js';

const root = inject('devRoot');
/**
 * Its own issuer's port, from the suite's port plan (TOKENRELAY_TEST_PORT_BASE + 1000, + 1 and + 2 for
 * the HTTPS pair); `TOKENRELAY_FAULTS_ISSUER_PORT` overrides it, 0 picks free ones.
 */
const PORT = Number(process.env.TOKENRELAY_FAULTS_ISSUER_PORT ?? testPort('hostileIssuer'));

interface Answer {
  status: number;
  contentType: string;
  text: string;
  error: string | undefined;
}

interface HostileRequest {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sent with chunked encoding, no content-length: the limit must hold while streaming. */
  chunked?: boolean;
  status: number;
  error: string;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const json = { 'content-type': 'application/json' };
const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});
const formBody = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const grant = 'grant_type=client_credentials';

let issuer: SeparateIssuer;
const answers = new Map<string, Answer>();

function cases(): HostileRequest[] {
  const { clientId, clientSecret } = issuer.credentials;
  const odd = (name: string, id: string): HostileRequest[] => [
    {
      name: `odd client_id (${name}) as form fields`,
      path: '/oauth/token',
      headers: form,
      body: formBody({ grant_type: 'client_credentials', client_id: id, client_secret: 'x' }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: `odd client_id (${name}) in HTTP Basic`,
      path: '/oauth/token',
      headers: { ...form, ...basic(id, 'x') },
      body: grant,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: `odd keyId (${name}) as JSON`,
      path: '/api/token',
      headers: json,
      body: JSON.stringify({ keyId: id, keySecret: 'x' }),
      status: 401,
      error: 'invalid_client',
    },
  ];
  return [
    // Malformed form bodies.
    {
      name: 'form: no fields',
      path: '/oauth/token',
      headers: form,
      body: '&&&===',
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'form: binary junk',
      path: '/oauth/token',
      headers: form,
      body: Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x3d, 0x26]),
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'form: broken percent-encoding',
      path: '/oauth/token',
      headers: form,
      body: `${grant}&client_id=%E0%A4%A&client_secret=%ZZ`,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'form: grant_type repeated',
      path: '/oauth/token',
      headers: form,
      body: `${grant}&${grant}`,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'form: no credentials',
      path: '/oauth/token',
      headers: form,
      body: grant,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'form: Basic credentials and a different body client_id',
      path: '/oauth/token',
      headers: { ...form, ...basic(clientId, clientSecret) },
      body: `${grant}&client_id=trk_someone_else`,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'form: Basic and client_secret both',
      path: '/oauth/token',
      headers: { ...form, ...basic(clientId, clientSecret) },
      body: `${grant}&client_secret=also`,
      status: 400,
      error: 'invalid_request',
    },
    // Unknown grant types.
    ...[
      'password',
      'authorization_code',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'CLIENT_CREDENTIALS',
    ].map(
      (g): HostileRequest => ({
        name: `grant_type=${g}`,
        path: '/oauth/token',
        headers: { ...form, ...basic(clientId, clientSecret) },
        body: formBody({ grant_type: g }),
        status: 400,
        error: 'unsupported_grant_type',
      }),
    ),
    {
      name: 'grant_type empty',
      path: '/oauth/token',
      headers: form,
      body: 'grant_type=',
      status: 400,
      error: 'invalid_request',
    },
    // Broken HTTP Basic.
    {
      name: 'Basic: not base64',
      path: '/oauth/token',
      headers: { ...form, authorization: 'Basic !!!***' },
      body: grant,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'Basic: no colon',
      path: '/oauth/token',
      headers: { ...form, authorization: `Basic ${Buffer.from('justanid').toString('base64')}` },
      body: grant,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'Basic: broken percent-encoding',
      path: '/oauth/token',
      headers: { ...form, authorization: `Basic ${Buffer.from('%ZZ:%E0%A4').toString('base64')}` },
      body: grant,
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'Bearer instead of Basic',
      path: '/oauth/token',
      headers: { ...form, authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' },
      body: grant,
      status: 401,
      error: 'invalid_client',
    },
    // Valid client, scope beyond its permissions.
    {
      name: 'scope beyond the application',
      path: '/oauth/token',
      headers: { ...form, ...basic(clientId, clientSecret) },
      body: formBody({ grant_type: 'client_credentials', scope: 'temporal-system:admin' }),
      status: 400,
      error: 'invalid_scope',
    },
    // Wrong content types.
    ...[
      ['text/plain', '/oauth/token', grant],
      ['application/json', '/oauth/token', JSON.stringify({ grant_type: 'client_credentials' })],
      ['multipart/form-data; boundary=x', '/oauth/token', `--x\r\n\r\n${grant}\r\n--x--`],
      ['application/x-www-form-urlencoded', '/api/token', 'keyId=a&keySecret=b'],
      ['text/json', '/api/token', '{}'],
    ].map(
      ([type, path, body]): HostileRequest => ({
        name: `content-type ${type} to ${path}`,
        path: path as string,
        headers: { 'content-type': type as string },
        body: body as string,
        status: 400,
        error: 'invalid_request',
      }),
    ),
    {
      name: 'no content-type',
      path: '/oauth/token',
      body: grant,
      status: 400,
      error: 'invalid_request',
    },
    // Malformed JSON bodies.
    ...[
      ['truncated', '{"keyId":'],
      ['an array', '[]'],
      ['null', 'null'],
      ['a string', '"keyId"'],
      ['numbers for strings', '{"keyId":5,"keySecret":6}'],
      ['empty secret', '{"keyId":"a","keySecret":""}'],
      ['objects for strings', '{"keyId":{"$ne":null},"keySecret":{"$ne":null}}'],
      ['__proto__ smuggling', '{"__proto__":{"keyId":"a","keySecret":"b"}}'],
      ['5000 levels deep', `${'['.repeat(5000)}${']'.repeat(5000)}`],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]).toString('latin1')],
    ].map(
      ([what, body]): HostileRequest => ({
        name: `JSON: ${what}`,
        path: '/api/token',
        headers: json,
        body: body as string,
        status: 400,
        error: 'invalid_request',
      }),
    ),
    // Oversized bodies (limit 16 KiB).
    {
      name: 'form: 17 KiB body',
      path: '/oauth/token',
      headers: form,
      body: `${grant}&pad=${'a'.repeat(17 * 1024)}`,
      status: 413,
      error: 'body_too_large',
    },
    {
      name: 'JSON: 1 MiB body',
      path: '/api/token',
      headers: json,
      body: JSON.stringify({ keyId: 'a', keySecret: 'b'.repeat(1024 * 1024) }),
      status: 413,
      error: 'body_too_large',
    },
    {
      name: 'form: 64 KiB chunked, no content-length',
      path: '/oauth/token',
      headers: form,
      body: `${grant}&pad=${'a'.repeat(64 * 1024)}`,
      chunked: true,
      status: 413,
      error: 'body_too_large',
    },
    // Odd characters in ids.
    ...odd('unicode', '日本語🔑\u202eclient'),
    ...odd('control characters', 'id\u0000\u0007\u001b[31m\r\nX-Injected: 1'),
    ...odd('log-line injection', 'x"}\n{"event":"token_issued","sub":"admin'),
    ...odd('10 000 characters', 'k'.repeat(10_000)),
    // Routes and methods.
    { name: 'unknown path', path: '/oauth/token/../../etc/passwd', status: 404, error: 'not_found' },
    {
      name: 'GET on the token endpoint',
      method: 'GET',
      path: '/oauth/token',
      status: 405,
      error: 'method_not_allowed',
    },
    {
      name: 'DELETE on the JWKS',
      method: 'DELETE',
      path: '/.well-known/jwks.json',
      status: 405,
      error: 'method_not_allowed',
    },
  ];
}

function send(c: HostileRequest): Promise<Answer> {
  const url = new URL(issuer.url);
  return new Promise((resolve) => {
    const body = c.body === undefined ? undefined : Buffer.from(c.body as string);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: c.method ?? 'POST',
        agent: false,
        path: c.path,
        headers: {
          ...c.headers,
          ...(body && !c.chunked ? { 'content-length': String(body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let error: string | undefined;
          try {
            error = (JSON.parse(text) as { error?: string }).error;
          } catch {
            error = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            text,
            error,
          });
        });
      },
    );
    // The issuer answers a refused body at once but closes only after the client sent all of it
    // (src/issuer/http-io.ts sendJsonWhileBodyArrives), so a body case never lands here: a client
    // still writing once saw EPIPE instead of the 413. Node's own refusals (431 for oversized headers)
    // still close at once; their answer may arrive just after the write error, hence the wait.
    req.on('error', (err: NodeJS.ErrnoException) => {
      setTimeout(
        () =>
          resolve({
            status: 0,
            contentType: '',
            text: `client saw ${err.code ?? err.message}`,
            error: undefined,
          }),
        1_000,
      );
    });
    if (body && c.chunked) {
      for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
      req.end();
    } else req.end(body);
  });
}

/**
 * A client that sends the headers and then its body one byte a second, never finishing: the issuer
 * must cut it off. Resolves with what came back and when.
 */
function slowBody(maxWaitMs: number): Promise<{ closedAfterMs: number; response: string }> {
  const url = new URL(issuer.url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(url.port), url.hostname);
    let response = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closedAfterMs: Date.now() - started, response });
    };
    const giveUp = setTimeout(finish, maxWaitMs);
    socket.on('connect', () => {
      socket.write(
        `POST /oauth/token HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 4096\r\n\r\n`,
      );
      timer = setInterval(() => socket.write('a'), 1_000);
    });
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString();
    });
    socket.on('close', finish);
    socket.on('error', () => {});
  });
}

/** The name without control or direction characters, for the table. */
function printable(text: string): string {
  return [...text].map((ch) => (ch.charCodeAt(0) < 0x20 || ch === '\u202e' ? '?' : ch)).join('');
}

const SLOW_BODY_LIMIT_MS = 45_000;
let slow: Promise<{ closedAfterMs: number; response: string }>;

beforeAll(async () => {
  persistRegistryUnder(root);
  issuer = await startSeparateIssuer({ dir: join(root, 'hostile-issuer'), port: PORT });
  // Started first and left running while everything else is sent: it costs wall time only once.
  slow = slowBody(SLOW_BODY_LIMIT_MS);
  for (const c of cases()) answers.set(c.name, await send(c));
}, 60_000);

afterAll(async () => {
  printTable(
    'Hostile requests to the issuer (request → status, error)',
    ['request', 'status', 'error'],
    cases().map((c) => {
      const a = answers.get(c.name);
      return [printable(c.name).slice(0, 70), String(a?.status), String(a?.error)];
    }),
  );
  await issuer?.stop();
  if (issuer) await saveCapturedOutput(root, 'hostile-requests-issuer', issuer.output());
});

describe('a hostile request to the issuer', () => {
  it('each gets the right 4xx with a stable JSON error code, never a 500 or a stack trace', () => {
    const wrong: Array<{ name: string; expected: string; got: string }> = [];
    for (const c of cases()) {
      const a = answers.get(c.name) as Answer;
      const ok =
        a.status === c.status &&
        a.error === c.error &&
        a.contentType.startsWith('application/json') &&
        !/\n\s+at |Error:/.test(a.text);
      if (!ok)
        wrong.push({
          name: c.name,
          expected: `${c.status} ${c.error}`,
          got: `${a.status} ${a.text.slice(0, 120)}`,
        });
    }
    expect(wrong).toEqual([]);
    expect(answers.size).toBe(cases().length);
  });

  it(
    'a client sending its body one byte a second is cut off by a request timeout',
    async () => {
      const { closedAfterMs, response } = await slow;
      process.stderr.write(
        `[hostile] slow body: connection closed by the issuer after ${closedAfterMs} ms; answer: ${JSON.stringify(response.slice(0, 200))}\n`,
      );
      expect(closedAfterMs).toBeLessThan(SLOW_BODY_LIMIT_MS);
      expect(response).toMatch(/^HTTP\/1\.1 408/);
    },
    SLOW_BODY_LIMIT_MS + 5_000,
  );

  // The issuer answers a timeout in its own JSON format, and an aborted body read is not an internal failure.
  it(
    'the timeout answer is JSON with a stable code and is not logged as an internal failure',
    async () => {
      const { response } = await slow;
      const body = response.split('\r\n\r\n')[1] ?? '';
      expect(issuer.output()).not.toContain('"event":"request_failed"');
      expect(JSON.parse(body)).toMatchObject({ error: 'request_timeout' });
    },
    SLOW_BODY_LIMIT_MS + 5_000,
  );

  // Node's own refusals (here 431 for headers over 16 KiB) also come in the issuer's JSON format.
  it('headers over the size limit get a JSON refusal too', async () => {
    const a = await send({
      name: 'oversized headers',
      path: '/oauth/token',
      headers: { ...form, ...basic('k'.repeat(20_000), 'x') },
      body: grant,
      status: 431,
      error: 'request_header_fields_too_large',
    });
    expect(a.status).toBe(431);
    expect(a.error).toBeTypeOf('string');
  });

  it('stays healthy: /health answers and a valid client still gets a token', async () => {
    expect((await fetch(`${issuer.url}/health`)).status).toBe(200);
    const { clientId, clientSecret } = issuer.credentials;
    const res = await fetch(`${issuer.url}/oauth/token`, {
      method: 'POST',
      headers: { ...form, ...basic(clientId, clientSecret) },
      body: grant,
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    recordSecret('separate issuer token', access_token);
    expect(access_token).toMatch(/^eyJ/);
  });

  it('logged no internal failure, no stack trace, no injected line and no secret', async () => {
    // The issuer's output reaches us through a pipe: a token issued now, whose log line comes after
    // every earlier request's, marks the point where the output has caught up.
    const { clientId, clientSecret } = issuer.credentials;
    const marker = await fetch(`${issuer.url}/oauth/token`, {
      method: 'POST',
      headers: { ...form, ...basic(clientId, clientSecret) },
      body: grant,
    });
    const { access_token } = (await marker.json()) as { access_token: string };
    recordSecret('separate issuer token', access_token);
    const { jti } = JSON.parse(Buffer.from(access_token.split('.')[1] ?? '', 'base64url').toString()) as {
      jti: string;
    };
    await until(() => issuer.output().includes(jti), "the marker token's token_issued line in the output");
    const output = issuer.output();
    // The one request_failed line is the slow client's (F-ISSUER-TIMEOUT, asserted above).
    const failures = output.split('\n').filter((l) => l.includes('"event":"request_failed"'));
    expect(failures.length).toBeLessThanOrEqual(1);
    expect(output).not.toMatch(/\n\s+at /);
    const lines = output.trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    // The injected id never became a line of its own.
    expect(lines.filter((l) => l.includes('"sub":"admin'))).toEqual([]);
    const { secrets } = await import('../faults/helpers.js').then((m) => m.loadRegistry());
    const scan = await scanForSecrets({
      secrets,
      files: [join(issuer.dir, 'audit.log')],
      captured: { 'tokenrelay issuer start output': output },
    });
    expect(scan.hits).toEqual([]);
  });
});

// The findings of the issue-14 review, against real issuer processes as the review ran them. Each
// issuer here has its own limits: the one above allows 100 000 failures so the cases never trip it.
describe('issue 14: lockout and flood against an issuer process with the default limits', () => {
  let limited: SeparateIssuer;
  let flooded: SeparateIssuer;
  let pool: Pool;

  beforeAll(async () => {
    limited = await startSeparateIssuer({
      dir: join(root, 'hostile-issuer-limited'),
      port: PORT === 0 ? 0 : PORT + 1,
      rateLimit: { maxFailures: 10, windowSeconds: 60 },
    });
    // The flood needs an address allowed to fail 10 050 times: the per-address limit is raised.
    const floodLimits = { maxFailures: 10, maxFailuresPerIp: 1_000_000, windowSeconds: 600 };
    flooded = await startSeparateIssuer({
      dir: join(root, 'hostile-issuer-flooded'),
      port: PORT === 0 ? 0 : PORT + 2,
      rateLimit: floodLimits,
    });
    pool = new Pool(flooded.url, { connections: 16 });
  }, 60_000);

  afterAll(async () => {
    await pool?.close();
    await limited?.stop();
    await flooded?.stop();
  });

  const tokenFrom = (url: string, id: string, secret: string, scheme = 'Basic') =>
    fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { ...form, authorization: basic(id, secret).authorization.replace(/^Basic/, scheme) },
      body: grant,
    });

  it('F1 lockout by anyone who knows a key id: the correct secret still gets a token after 10 bad attempts', async () => {
    const { url, credentials } = limited;
    for (let i = 0; i < 10; i++) {
      expect((await tokenFrom(url, credentials.clientId, `guess-${i}`)).status).toBe(401);
    }
    const blocked = await tokenFrom(url, credentials.clientId, 'guess-10');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBeTruthy();
    const real = await tokenFrom(url, credentials.clientId, credentials.clientSecret);
    expect(real.status).toBe(200);
    recordSecret('limited issuer token', ((await real.json()) as { access_token: string }).access_token);
  });

  it('F2 lockout of a whole proxy: valid logins from an address with 50 failures still get tokens', async () => {
    const { url, credentials } = limited;
    for (let i = 0; i < 50; i++) await tokenFrom(url, `trk_stranger${i}`, 'x');
    expect((await tokenFrom(url, 'trk_stranger-next', 'x')).status).toBe(429);
    const real = await tokenFrom(url, credentials.clientId, credentials.clientSecret);
    expect(real.status).toBe(200);
    recordSecret('limited issuer token', ((await real.json()) as { access_token: string }).access_token);
  });

  it('F3 rate-limit state cannot be flushed: 10 050 failures with distinct ids leave a blocked guesser blocked', async () => {
    const { credentials } = flooded;
    for (let i = 0; i < 10; i++) await tokenFrom(flooded.url, credentials.clientId, `guess-${i}`);
    expect((await tokenFrom(flooded.url, credentials.clientId, 'guess')).status).toBe(429);
    const started = Date.now();
    let next = 0;
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 10_050) {
          const i = next++;
          const res = await pool.request({
            method: 'POST',
            path: '/oauth/token',
            headers: { ...form, ...basic(`trk_flood_${i}`, 'x') },
            body: grant,
          });
          await res.body.dump();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        }
      }),
    );
    process.stderr.write(
      `[hostile] flood: 10 050 distinct ids in ${Date.now() - started} ms, statuses ${JSON.stringify([...statuses])}\n`,
    );
    expect((await tokenFrom(flooded.url, credentials.clientId, 'guess')).status).toBe(429);
    expect((await tokenFrom(flooded.url, credentials.clientId, credentials.clientSecret)).status).toBe(200);
  }, 180_000);

  it('F10 a lowercase basic scheme is accepted (RFC 7235)', async () => {
    const { url, credentials } = limited;
    const res = await tokenFrom(url, credentials.clientId, credentials.clientSecret, 'basic');
    expect(res.status).toBe(200);
    recordSecret('limited issuer token', ((await res.json()) as { access_token: string }).access_token);
  });

  it('F10 repeated scope entries are not repeated in the token', async () => {
    const { url, credentials } = limited;
    const res = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { ...form, ...basic(credentials.clientId, credentials.clientSecret) },
      body: formBody({ grant_type: 'client_credentials', scope: 'default:read default:read default:read' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; scope: string };
    recordSecret('limited issuer token', body.access_token);
    expect(body.scope).toBe('default:read');
  });
});

describeSecretsScan(devConfig(), root);
