// F4 of the hostile review (issue 14): the issuer received client secrets over plain HTTP only. It now
// serves HTTPS from certificate files and follows their renewal without a restart.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../../src/auth/client-credentials.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueLeaf,
} from '../../../src/devstack/pki.js';
import { createApplication } from '../../../src/issuer/application-admin.js';
import { type RunningIssuer, startIssuer } from '../../../src/issuer/run.js';
import type { IssuerLogEvent } from '../../../src/issuer/server.js';
import { eventually, until } from '../../support/wait.js';

let dir: string;
let ca: CertificateAuthority;
let issuer: RunningIssuer;
let agent: Agent;
const events: IssuerLogEvent[] = [];
const certPath = () => join(dir, 'issuer.pem');
const keyPath = () => join(dir, 'issuer-key.pem');
let credentials: { keyId: string; secret: string };

const leaf = () =>
  issueLeaf(
    ca,
    { certPath: certPath(), keyPath: keyPath() },
    {
      commonName: 'localhost',
      usage: 'server',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 2,
    },
  );

/** The serial number of the certificate the issuer presents right now. */
function servedSerial(): Promise<string> {
  const { port } = new URL(issuer.url);
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: Number(port), ca: ca.cert.toString('pem'), servername: 'localhost' },
      () => {
        const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
        socket.end();
        resolve(serial);
      },
    );
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'issuer-tls-'));
  ca = await createCertificateAuthority({ commonName: 'test CA', validityDays: 2 });
  await leaf();
  await writeFile(
    join(dir, 'issuer.json'),
    JSON.stringify({
      audience: 'tls-test',
      port: 0,
      tls: { certPath: 'issuer.pem', keyPath: 'issuer-key.pem', reloadIntervalMs: 100 },
      loopbackHttpPort: 0,
    }),
  );
  const { key } = await createApplication(
    { applicationsPath: join(dir, 'applications.json') },
    { id: 'worker', permissions: ['default:read'] },
  );
  credentials = { keyId: key.keyId, secret: key.secret };
  issuer = await startIssuer(join(dir, 'issuer.json'), (e) => events.push(e), {});
  agent = new Agent({ connect: { ca: ca.cert.toString('pem') } });
});

afterAll(async () => {
  await issuer?.close();
  await agent?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('F4 no HTTPS', () => {
  it('serves HTTPS with the configured certificate, and its iss and URL say https', async () => {
    expect(issuer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const source = new ClientCredentialsTokenSource({
      tokenUrl: `${issuer.url}/oauth/token`,
      clientId: credentials.keyId,
      clientSecret: credentials.secret,
      dispatcher: agent,
    });
    const { token } = await source.getToken();
    const [, payload] = token.split('.');
    expect(JSON.parse(Buffer.from(payload as string, 'base64url').toString()).iss).toBe(
      'https://127.0.0.1:0',
    );
    const jwks = await undiciFetch(`${issuer.url}/.well-known/jwks.json`, { dispatcher: agent });
    expect(jwks.status).toBe(200);
  });

  it('serves plain HTTP only on the explicit loopback listener, with the same applications', async () => {
    expect(issuer.loopbackHttpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${issuer.loopbackHttpUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${credentials.keyId}:${credentials.secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
  });

  it('does not answer plain HTTP on its port', async () => {
    const { port } = new URL(issuer.url);
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/health', timeout: 3_000 }, (res) =>
        resolve(`status ${res.statusCode}`),
      );
      req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    expect(outcome).not.toBe('status 200');
  });

  it('serves a renewed certificate without a restart, and keeps the old one when the new pair is broken', async () => {
    const before = await servedSerial();
    await leaf();
    const renewed = new X509Certificate(await readFile(certPath())).serialNumber;
    expect(renewed).not.toBe(before);
    expect(
      await eventually(servedSerial, (serial) => serial === renewed, 'the renewed certificate served', {
        timeoutMs: 10_000,
        intervalMs: 100,
      }),
    ).toBe(renewed);
    expect(events).toContainEqual(expect.objectContaining({ event: 'tls_reloaded' }));

    // A PEM frame around garbage; the label is assembled so key scanners do not mistake this file for
    // one that holds a private key.
    const label = ['PRIVATE', 'KEY'].join(' ');
    await writeFile(keyPath(), `-----BEGIN ${label}-----\nnot a key\n-----END ${label}-----\n`);
    await until(() => events.some((e) => e.event === 'tls_reload_failed'), 'a tls_reload_failed event', {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(await servedSerial()).toBe(renewed);
    const metrics = await (await undiciFetch(`${issuer.url}/metrics`, { dispatcher: agent })).text();
    expect(metrics).toMatch(/tokenrelay_issuer_tls_reloads_total\{outcome="ok"\} 1/);
    expect(metrics).toMatch(/tokenrelay_issuer_tls_reloads_total\{outcome="failed"\} 1/);
  });
});
