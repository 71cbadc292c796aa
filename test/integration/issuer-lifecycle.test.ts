import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { devConfig } from '../support/stack.js';
import { sleep, until } from '../support/wait.js';

const run = promisify(execFile);
const bin = resolve('bin/tokenrelay.js');
const config = devConfig();
const devIssuerDir = join(inject('devRoot'), 'issuer');

/** Runs the real CLI in its own process; the exit code instead of a throw. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function cliJson<T>(args: string[]): Promise<T> {
  const result = await cli([...args, '--json']);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout) as T;
}

/** The dev CA, trusted for the stack issuer's HTTPS listener. */
const devCa = new Agent({ connect: { ca: readFileSync(config.temporal.caCertPath, 'utf8') } });

function token(url: string, keyId: string, keySecret: string) {
  return undiciFetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${keyId}:${keySecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
    ...(url.startsWith('https:') ? { dispatcher: devCa } : {}),
  });
}

async function auditEvents(dir: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(dir, 'audit.log'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('access key lifecycle against the dev stack issuer (CLI in, HTTP out)', () => {
  it('create app → token → pause → invalid_client → resume → token → revoke → invalid_client', async () => {
    const state = ['--state-dir', devIssuerDir];
    const created = await cliJson<{ keyId: string; keySecret: string }>([
      'app',
      'create',
      'lifecycle-probe',
      '--permission',
      'default:read',
      ...state,
    ]);
    const url = config.issuer.url;
    expect((await token(url, created.keyId, created.keySecret)).status).toBe(200);

    await cliJson(['app', 'key', 'pause', created.keyId, ...state]);
    const paused = await token(url, created.keyId, created.keySecret);
    expect(paused.status).toBe(401);
    expect(await paused.json()).toMatchObject({ error: 'invalid_client' });

    await cliJson(['app', 'key', 'resume', created.keyId, ...state]);
    expect((await token(url, created.keyId, created.keySecret)).status).toBe(200);

    await cliJson(['app', 'key', 'revoke', created.keyId, ...state]);
    const revoked = await token(url, created.keyId, created.keySecret);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual(await (await token(url, 'trk_unknown', 'x')).json());

    const shown = await cliJson<{ keys: Array<{ id: string; status: string }> }>([
      'app',
      'show',
      'lifecycle-probe',
      ...state,
    ]);
    expect(shown.keys).toEqual([expect.objectContaining({ id: created.keyId, status: 'revoked' })]);
    expect(JSON.stringify(shown)).not.toContain(created.keySecret);
  });

  it('exits with distinct codes for not found (3) and conflict (4), printing the error code', async () => {
    const missing = await cli(['app', 'show', 'no-such-app', '--state-dir', devIssuerDir]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('issuer.app_not_found');
    const duplicate = await cli([
      'app',
      'create',
      'worker',
      '-p',
      'default:read',
      '--state-dir',
      devIssuerDir,
    ]);
    expect(duplicate.code).toBe(4);
  });
});

describe('the lifecycle operators expect (issue 14), CLI in, HTTP out', () => {
  const state = ['--state-dir', devIssuerDir];
  const url = config.issuer.url;
  const decode = async (res: Awaited<ReturnType<typeof token>>) =>
    JSON.parse(
      Buffer.from(
        ((await res.json()) as { access_token: string }).access_token.split('.')[1] as string,
        'base64url',
      ).toString(),
    ) as { permissions: string[]; exp: number; iat: number };

  it('app create --expires-in: app show names the expiry, and the key is refused once past, audited as key_expired', async () => {
    const created = await cliJson<{ keyId: string; keySecret: string; keyExpiresAt: string }>([
      'app',
      'create',
      'expiring-probe',
      '-p',
      'default:read',
      '--expires-in',
      '20s',
      ...state,
    ]);
    expect(Date.parse(created.keyExpiresAt) - Date.now()).toBeLessThanOrEqual(20_000);
    expect((await token(url, created.keyId, created.keySecret)).status).toBe(200);
    const shown = await cli(['app', 'show', 'expiring-probe', ...state]);
    // `expires` until then, `expired` after (a loaded machine may take that long to run the CLI).
    expect(shown.stdout).toMatch(new RegExp(`expire[sd] ${created.keyExpiresAt.replaceAll('.', '\\.')}`));
    // The subject is the key's expiry: a wall-clock time, so waiting for it is the test.
    await sleep(Math.max(0, Date.parse(created.keyExpiresAt) - Date.now()) + 200);
    const refused = await token(url, created.keyId, created.keySecret);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    expect((await cli(['app', 'show', 'expiring-probe', ...state])).stdout).toMatch(/expired/);
    // Audit writes are not awaited by the response.
    await until(
      async () =>
        (await auditEvents(devIssuerDir)).some(
          (e) => e.event === 'token_failed' && e.reason === 'key_expired' && e.keyId === created.keyId,
        ),
      'the key_expired audit line',
    );
  });

  it('app update changes permissions and lifetime, validated like create; the next token carries them; audited with actor and reason', async () => {
    const created = await cliJson<{ keyId: string; keySecret: string }>([
      'app',
      'create',
      'update-probe',
      '-p',
      'default:read',
      ...state,
    ]);
    const refused = await cli(['app', 'update', 'update-probe', '-p', 'default:superuser', ...state]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('issuer.invalid_argument');
    const tooLong = await cli(['app', 'update', 'update-probe', '--token-lifetime', '90000', ...state]);
    expect(tooLong.code).toBe(2);
    await cliJson([
      'app',
      'update',
      'update-probe',
      '-p',
      'default:write',
      '-p',
      'default:token.read',
      '--token-lifetime',
      '120',
      '--reason',
      'needs to start workflows',
      ...state,
    ]);
    const claims = await decode(await token(url, created.keyId, created.keySecret));
    expect(claims.permissions).toEqual(['default:write', 'default:token.read']);
    expect(claims.exp - claims.iat).toBe(120);
    const updated = (await auditEvents(devIssuerDir)).filter(
      (e) => e.event === 'app_updated' && e.app === 'update-probe',
    );
    expect(updated).toEqual([
      expect.objectContaining({
        reason: 'needs to start workflows',
        actor: expect.stringMatching(/^os:/),
        changes: {
          permissions: { from: ['default:read'], to: ['default:write', 'default:token.read'] },
          tokenLifetimeSeconds: { to: 120 },
        },
      }),
    ]);
  });

  it('app key delete removes a revoked key only; revoke and pause record their --reason', async () => {
    const created = await cliJson<{ keyId: string; keySecret: string }>([
      'app',
      'create',
      'delete-probe',
      '-p',
      'default:read',
      ...state,
    ]);
    const active = await cli(['app', 'key', 'delete', created.keyId, ...state]);
    expect(active.code).toBe(4);
    expect(active.stderr).toContain('issuer.key_not_revoked');
    await cliJson(['app', 'key', 'pause', created.keyId, '--reason', 'odd traffic', ...state]);
    await cliJson(['app', 'key', 'revoke', created.keyId, '--reason', 'leaked in a log', ...state]);
    expect((await cli(['app', 'show', 'delete-probe', ...state])).stdout).toContain(
      '(revoked: leaked in a log)',
    );
    await cliJson(['app', 'key', 'delete', created.keyId, '--reason', 'cleanup', ...state]);
    expect((await cliJson<{ keys: unknown[] }>(['app', 'show', 'delete-probe', ...state])).keys).toEqual([]);
    const events = (await auditEvents(devIssuerDir)).filter((e) => e.keyId === created.keyId);
    expect(events.map((e) => [e.event, e.reason])).toEqual([
      ['key_created', undefined],
      ['key_paused', 'odd traffic'],
      ['key_revoked', 'leaked in a log'],
      ['key_deleted', 'cleanup'],
    ]);
    expect(events.every((e) => typeof e.actor === 'string' && (e.actor as string).startsWith('os:'))).toBe(
      true,
    );
  });

  it('F5 no lifetime cap: app create --token-lifetime 315360000 exits 2 naming the 24 h cap', async () => {
    const result = await cli([
      'app',
      'create',
      'ten-years',
      '-p',
      'default:read',
      '--token-lifetime',
      '315360000',
      ...state,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('maxTokenLifetimeSeconds (86400)');
  });
});

describe('an issuer process with a short rate-limit window', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let key: { keyId: string; keySecret: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(inject('devRoot'), 'issuer-ratelimit-'));
    await writeFile(
      join(dir, 'issuer.json'),
      JSON.stringify({
        issuer: 'http://issuer.ratelimit.test',
        audience: 'ratelimit-test',
        port: 0,
        rateLimit: { maxFailures: 3, windowSeconds: 2 },
      }),
    );
    key = await cliJson(['app', 'create', 'probe', '-p', 'default:read', '--state-dir', dir]);
    child = spawn(process.execPath, [bin, 'issuer', 'start', '--config', join(dir, 'issuer.json')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    url = await new Promise<string>((resolveUrl, reject) => {
      child.once('exit', (code) => reject(new Error(`issuer exited with ${code}`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const event = JSON.parse(line) as { event: string; url?: string };
        if (event.event === 'issuer_listening') resolveUrl(event.url as string);
      });
    });
  });

  afterAll(async () => {
    child?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the failed attempt that crosses the limit with 429 + Retry-After, never the right secret, and forgets after the window', async () => {
    for (let i = 0; i < 3; i++) expect((await token(url, key.keyId, 'wrong')).status).toBe(401);
    const limited = await token(url, key.keyId, 'wrong');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(2);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    // Key ids are public: the right secret is answered whatever others tried with the id (issue 14 F1).
    expect((await token(url, key.keyId, key.keySecret)).status).toBe(200);
    // The subject is the rate limiter's window: Retry-After promises it is over by then, so wait it out.
    await sleep(Number(limited.headers.get('retry-after')) * 1000 + 100);
    expect((await token(url, key.keyId, 'wrong')).status).toBe(401);
  });

  it('writes the audit log and metrics with their content and without any secret or token', async () => {
    const issuedBefore = (await auditEvents(dir).catch(() => [])).filter(
      (e) => e.event === 'token_issued',
    ).length;
    const issued = await token(url, key.keyId, key.keySecret);
    const { access_token } = (await issued.json()) as { access_token: string };
    // Audit writes are not awaited by the response.
    await until(
      async () => (await auditEvents(dir)).filter((e) => e.event === 'token_issued').length > issuedBefore,
      "this token's token_issued audit line",
    );
    const audit = await readFile(join(dir, 'audit.log'), 'utf8');
    const events = audit
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; reason?: string });
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['app_created', 'key_created', 'token_issued', 'token_failed', 'rate_limited']),
    );
    expect(events.filter((e) => e.event === 'token_failed').map((e) => e.reason)).toContain('bad_secret');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/tokenrelay_issuer_tokens_issued_total\{endpoint="oauth"\} [2-9]/);
    expect(metrics).toMatch(/tokenrelay_issuer_token_failures_total\{reason="invalid_client"\} 4/);
    // Three failures with one key id: the per-key limit (3) is hit before the looser per-IP one.
    expect(metrics).toMatch(/tokenrelay_issuer_rate_limited_total\{scope="key"\} 1/);
    expect(metrics).toMatch(/tokenrelay_issuer_request_duration_seconds_bucket/);
    for (const text of [audit, metrics]) {
      expect(text).not.toContain(key.keySecret);
      expect(text).not.toContain(access_token);
      expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    }
    expect((await fetch(`${url}/ready`)).status).toBe(200);
  });
});

describe('keys commands', () => {
  it('`keys rotate` adds a pending key that `keys list` shows next to the active one', async () => {
    const dir = await mkdtemp(join(inject('devRoot'), 'issuer-keys-'));
    try {
      await writeFile(
        join(dir, 'issuer.json'),
        JSON.stringify({ audience: 'keys-test', verifierJwksRefreshSeconds: 30 }),
      );
      expect(await cliJson(['keys', 'list', '--state-dir', dir])).toEqual([]);
      const rotated = await cliJson<{ created: { kid: string; alg: string; activatesAt: string } }>([
        'keys',
        'rotate',
        '--alg',
        'RS256',
        '--state-dir',
        dir,
      ]);
      expect(rotated.created.alg).toBe('RS256');
      const listed = await cliJson<
        Array<{ kid: string; state: string; activatesAt: string; createdAt: string }>
      >(['keys', 'list', '--state-dir', dir]);
      expect(listed.map((k) => k.state)).toEqual(['active', 'pending']);
      expect(listed[1]?.kid).toBe(rotated.created.kid);
      // Published 2 × the verifier refresh interval (60 s) before it signs. Measured from the key's own
      // creation time: a CLI run on a loaded machine can take longer than the slack a wall-clock check has.
      const ahead = Date.parse(rotated.created.activatesAt) - Date.parse(listed[1]?.createdAt ?? '');
      // (activatesAt counts from the start of the rotation, createdAt from after the key was generated.)
      expect(ahead).toBeGreaterThan(50_000);
      expect(ahead).toBeLessThanOrEqual(60_000);
      const keysFile = await stat(join(dir, 'signing-keys.json'));
      expect(keysFile.mode & 0o777).toBe(0o600);
      const audit = await readFile(join(dir, 'audit.log'), 'utf8');
      expect(audit).toContain('"event":"signing_key_rotated"');
      expect(audit).not.toContain('"d":'); // no private key material
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
