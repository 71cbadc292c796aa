// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** PEM files of one certificate and its private key. */
export interface CertificatePaths {
  certPath: string;
  keyPath: string;
}

/** Where the dev PKI lives; every private key file is mode 0600. */
export interface DevPkiPaths {
  caCertPath: string;
  caKeyPath: string;
  server: CertificatePaths;
  clients: Record<DevClientName, CertificatePaths>;
  /**
   * The Temporal server's own services (internal-frontend, history, matching, worker) authenticate
   * each other with this certificate (serverAuth + clientAuth), signed by a CA of its own: a client
   * certificate of the dev CA, which every dev application holds, must not reach internal-frontend,
   * where Temporal treats every caller as the system.
   */
  internode: CertificatePaths & { caCertPath: string; caKeyPath: string };
}

export type DevClientName = 'worker' | 'admin';
const clientNames: readonly DevClientName[] = ['worker', 'admin'];

/** An in-memory certificate authority that can sign leaf certificates. */
export interface CertificateAuthority {
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
}

export function devPkiPaths(dir: string): DevPkiPaths {
  const pair = (name: string): CertificatePaths => ({
    certPath: join(dir, `${name}.pem`),
    keyPath: join(dir, `${name}-key.pem`),
  });
  return {
    caCertPath: join(dir, 'ca.pem'),
    caKeyPath: join(dir, 'ca-key.pem'),
    server: pair('server'),
    clients: { worker: pair('worker'), admin: pair('admin') },
    internode: {
      ...pair('internode'),
      caCertPath: join(dir, 'internode-ca.pem'),
      caKeyPath: join(dir, 'internode-ca-key.pem'),
    },
  };
}

/**
 * Makes sure the dev CA, the server certificate and the client certificates exist and stay valid for
 * at least `minRemainingMs`; regenerates the whole set otherwise, because a new CA invalidates every
 * leaf it did not sign. The internode CA and certificate are a second set, checked and regenerated
 * the same way on their own. Returns whether it generated anything (a running server must then
 * restart).
 */
export async function ensureDevPki(
  dir: string,
  options: { minRemainingMs?: number; validityDays?: number; now?: Date } = {},
): Promise<{ paths: DevPkiPaths; generated: boolean }> {
  const paths = devPkiPaths(dir);
  const now = options.now ?? new Date();
  const minRemainingMs = options.minRemainingMs ?? DAY_MS;
  const certPaths = [
    paths.caCertPath,
    paths.server.certPath,
    ...clientNames.map((n) => paths.clients[n].certPath),
  ];
  const keyPaths = [
    paths.caKeyPath,
    paths.server.keyPath,
    ...clientNames.map((n) => paths.clients[n].keyPath),
  ];
  const validityDays = options.validityDays ?? 30;
  const internodeGenerated = await ensureInternode(paths.internode, dir, {
    validUntilMs: now.getTime() + minRemainingMs,
    validityDays,
    now,
  });
  if (await allValid(certPaths, keyPaths, now.getTime() + minRemainingMs)) {
    return { paths, generated: internodeGenerated };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority({ commonName: 'tokenrelay dev CA', validityDays, now });
  await writePem(paths.caCertPath, ca.cert.toString('pem'), 0o644);
  await writePem(paths.caKeyPath, await privateKeyPem(ca.privateKey), 0o600);
  await issueLeaf(ca, paths.server, {
    commonName: 'localhost',
    usage: 'server',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays,
    now,
  });
  for (const name of clientNames) {
    await issueLeaf(ca, paths.clients[name], {
      commonName: `tokenrelay-${name}`,
      usage: 'client',
      validityDays,
      now,
    });
  }
  return { paths, generated: true };
}

async function ensureInternode(
  paths: DevPkiPaths['internode'],
  dir: string,
  options: { validUntilMs: number; validityDays: number; now: Date },
): Promise<boolean> {
  if (
    await allValid([paths.caCertPath, paths.certPath], [paths.caKeyPath, paths.keyPath], options.validUntilMs)
  ) {
    return false;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { validityDays, now } = options;
  const ca = await createCertificateAuthority({ commonName: 'tokenrelay internode CA', validityDays, now });
  await writePem(paths.caCertPath, ca.cert.toString('pem'), 0o644);
  await writePem(paths.caKeyPath, await privateKeyPem(ca.privateKey), 0o600);
  await issueLeaf(ca, paths, {
    commonName: 'tokenrelay-internode',
    usage: 'server+client',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays,
    now,
  });
  return true;
}

export async function createCertificateAuthority(options: {
  commonName: string;
  validityDays: number;
  now?: Date;
}): Promise<CertificateAuthority> {
  const now = options.now ?? new Date();
  const keys = await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${options.commonName}`,
    notBefore: backdated(now),
    notAfter: new Date(now.getTime() + options.validityDays * DAY_MS),
    signingAlgorithm: ecdsa,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, privateKey: keys.privateKey };
}

export async function loadCertificateAuthority(paths: { caCertPath: string; caKeyPath: string }) {
  const cert = new x509.X509Certificate(await readFile(paths.caCertPath, 'utf8'));
  const der = x509.PemConverter.decodeFirst(await readFile(paths.caKeyPath, 'utf8'));
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ecdsa, false, ['sign']);
  return { cert, privateKey } satisfies CertificateAuthority;
}

/**
 * Signs a server or client certificate with `ca` and writes it to `target`. Also used to rotate a
 * client certificate while a worker runs.
 */
export async function issueLeaf(
  ca: CertificateAuthority,
  target: CertificatePaths,
  options: {
    commonName: string;
    /** `server+client`: a service that both serves and calls its peers (Temporal internode). */
    usage: 'server' | 'client' | 'server+client';
    dnsNames?: string[];
    ipAddresses?: string[];
    validityDays: number;
    now?: Date;
    notBefore?: Date;
    notAfter?: Date;
  },
): Promise<void> {
  const now = options.now ?? new Date();
  const keys = await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  const altNames: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      [
        ...(options.usage === 'client' ? [] : [x509.ExtendedKeyUsage.serverAuth]),
        ...(options.usage === 'server' ? [] : [x509.ExtendedKeyUsage.clientAuth]),
      ],
      false,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${options.commonName}`,
    issuer: ca.cert.subject,
    notBefore: options.notBefore ?? backdated(now),
    notAfter: options.notAfter ?? new Date(now.getTime() + options.validityDays * DAY_MS),
    signingAlgorithm: ecdsa,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions,
  });
  // Key first: a reader that sees the new certificate must never pair it with the old key.
  await writePem(target.keyPath, await privateKeyPem(keys.privateKey), 0o600);
  await writePem(target.certPath, cert.toString('pem'), 0o644);
}

async function allValid(certPaths: string[], keyPaths: string[], validUntilMs: number): Promise<boolean> {
  try {
    for (const path of keyPaths) await readFile(path);
    for (const path of certPaths) {
      const cert = new NodeX509Certificate(await readFile(path));
      if (Date.parse(cert.validTo) < validUntilMs || Date.parse(cert.validFrom) > Date.now()) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function writePem(path: string, pem: string, mode: number): Promise<void> {
  await writeFile(path, pem.endsWith('\n') ? pem : `${pem}\n`, { mode });
  // writeFile keeps the mode of an existing file, so set it explicitly.
  await chmod(path, mode);
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER per RFC 5280 §4.1.2.2
  return Buffer.from(bytes).toString('hex');
}

// A minute of slack so a freshly generated certificate is not "not yet valid" on a slightly slow clock.
function backdated(now: Date): Date {
  return new Date(now.getTime() - 60_000);
}
