import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApplicationStore } from '../../../src/issuer/applications.js';
import { bootstrapCredentialFromEnv } from '../../../src/issuer/bootstrap-credential.js';
import { createIssuerServer } from '../../../src/issuer/server.js';
import { loadOrCreateSigningKeys } from '../../../src/issuer/signing-keys.js';

const SECRET = 'bootstrap-secret-0123456789abcdef';
let dir: string;
let server: Server;
let base: string;
const START = Date.parse('2026-01-01T00:00:00Z');
let clock = START;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bootstrap-'));
  const applications = new ApplicationStore(join(dir, 'applications.json'));
  await applications.write({ applications: [] });
  const bootstrap = bootstrapCredentialFromEnv({
    TOKENRELAY_BOOTSTRAP_CLIENT_ID: 'bootstrap',
    TOKENRELAY_BOOTSTRAP_CLIENT_SECRET: SECRET,
    TOKENRELAY_BOOTSTRAP_EXPIRES_AT: '2026-01-01T01:00:00Z',
  });
  server = createIssuerServer({
    issuer: 'http://issuer.test',
    audience: 'aud',
    applications,
    signingKeys: await loadOrCreateSigningKeys(join(dir, 'keys.json')),
    ...(bootstrap ? { bootstrap } : {}),
    now: () => clock,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const request = (secret: string) =>
  fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=bootstrap&client_secret=${secret}`,
  });

describe('bootstrap admin credential', () => {
  // The expiry test moves the clock; every test starts before the credential expires.
  beforeEach(() => {
    clock = START;
  });

  it('issues an admin token before any application exists, and refuses a wrong secret', async () => {
    const res = await request(SECRET);
    expect(res.status).toBe(200);
    const claims = decodeJwt(((await res.json()) as { access_token: string }).access_token);
    expect(claims).toMatchObject({ sub: 'bootstrap-admin', permissions: ['temporal-system:admin'] });
    expect((await request(`${SECRET}x`)).status).toBe(401);
  });

  it('is refused with invalid_client once it has expired', async () => {
    clock = Date.parse('2026-01-01T01:00:00Z');
    const res = await request(SECRET);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('rejects an incomplete or invalid environment naming the variable', () => {
    expect(bootstrapCredentialFromEnv({})).toBeUndefined();
    expect(() => bootstrapCredentialFromEnv({ TOKENRELAY_BOOTSTRAP_CLIENT_ID: 'x' })).toThrow(
      /CLIENT_SECRET/,
    );
    expect(() =>
      bootstrapCredentialFromEnv({
        TOKENRELAY_BOOTSTRAP_CLIENT_ID: 'x',
        TOKENRELAY_BOOTSTRAP_CLIENT_SECRET: SECRET,
        TOKENRELAY_BOOTSTRAP_EXPIRES_AT: 'tomorrow',
      }),
    ).toThrow(/EXPIRES_AT/);
  });
});
