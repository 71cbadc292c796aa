import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CertificatePaths, devPkiPaths, issueLeaf, loadCertificateAuthority } from './pki.js';

const DAY_MS = 86_400_000;

/** The dev issuer's HTTPS certificate and key, and the dev CA that signed them. */
export interface DevIssuerTls extends CertificatePaths {
  caCertPath: string;
}

/**
 * Makes sure the dev issuer has a server certificate of its own (`issuer.pem`, `issuer-key.pem` next to
 * the dev CA) for `localhost` and `127.0.0.1`, signed by the current dev CA and valid for at least
 * `minRemainingMs`; issues a new one otherwise. Call after `ensureDevPki`, which may have replaced the
 * CA: a certificate the current CA did not sign is replaced too. The running issuer follows a new
 * certificate by itself (it re-reads the files when they change).
 */
export async function ensureDevIssuerCertificate(
  pkiDir: string,
  options: { minRemainingMs?: number; validityDays?: number; now?: Date } = {},
): Promise<{ paths: DevIssuerTls; generated: boolean }> {
  const pki = devPkiPaths(pkiDir);
  const paths: DevIssuerTls = {
    certPath: join(pkiDir, 'issuer.pem'),
    keyPath: join(pkiDir, 'issuer-key.pem'),
    caCertPath: pki.caCertPath,
  };
  const now = options.now ?? new Date();
  if (await stillGood(paths, now.getTime() + (options.minRemainingMs ?? DAY_MS))) {
    return { paths, generated: false };
  }
  const ca = await loadCertificateAuthority(pki);
  await issueLeaf(ca, paths, {
    commonName: 'tokenrelay dev issuer',
    usage: 'server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: options.validityDays ?? 30,
    now,
  });
  return { paths, generated: true };
}

async function stillGood(paths: DevIssuerTls, validUntilMs: number): Promise<boolean> {
  try {
    await readFile(paths.keyPath);
    const cert = new X509Certificate(await readFile(paths.certPath));
    const ca = new X509Certificate(await readFile(paths.caCertPath));
    return (
      Date.parse(cert.validTo) >= validUntilMs &&
      Date.parse(cert.validFrom) <= Date.now() &&
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey)
    );
  } catch {
    return false;
  }
}
