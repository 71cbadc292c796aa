// The dev stack's issuer certificate (src/devstack/issuer-tls.ts): signed by the dev CA, reissued when
// the CA changes, trusted through devIssuerDispatcher and by nothing else.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { devIssuerDispatcher } from '../../../src/devstack/dev-ca-dispatcher.js';
import { ensureDevIssuerCertificate } from '../../../src/devstack/issuer-tls.js';
import { ensureDevPki } from '../../../src/devstack/pki.js';
import { type RunningIssuer, startIssuer } from '../../../src/issuer/run.js';

let dir: string;
let issuer: RunningIssuer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-issuer-cert-'));
});
afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('the dev issuer certificate', () => {
  it('is issued once by the dev CA, kept while valid, and reissued when the CA is replaced', async () => {
    const pkiDir = join(dir, 'pki');
    await ensureDevPki(pkiDir);
    const first = await ensureDevIssuerCertificate(pkiDir);
    expect(first.generated).toBe(true);
    const cert = new X509Certificate(await readFile(first.paths.certPath));
    expect(cert.checkIssued(new X509Certificate(await readFile(first.paths.caCertPath)))).toBe(true);
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect((await ensureDevIssuerCertificate(pkiDir)).generated).toBe(false);
    // A new CA (what ensureDevPki does when the old one expires) invalidates the issuer certificate.
    await rm(first.paths.caCertPath);
    await ensureDevPki(pkiDir);
    expect((await ensureDevIssuerCertificate(pkiDir)).generated).toBe(true);
  });

  it('serves the issuer over HTTPS that devIssuerDispatcher trusts and the system trust store does not', async () => {
    const pkiDir = join(dir, 'pki');
    await ensureDevPki(pkiDir);
    const { paths } = await ensureDevIssuerCertificate(pkiDir);
    await writeFile(join(dir, 'applications.json'), JSON.stringify({ applications: [] }));
    await writeFile(
      join(dir, 'issuer.json'),
      JSON.stringify({ audience: 'a', port: 0, tls: { certPath: paths.certPath, keyPath: paths.keyPath } }),
    );
    issuer = await startIssuer(join(dir, 'issuer.json'), () => {}, {});
    const res = await undiciFetch(`${issuer.url}/health`, {
      dispatcher: devIssuerDispatcher(paths.caCertPath),
    });
    expect(res.status).toBe(200);
    await expect(fetch(`${issuer.url}/health`)).rejects.toThrow();
  });
});
