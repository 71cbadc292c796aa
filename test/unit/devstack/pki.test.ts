import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDevPki } from '../../../src/devstack/pki.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pki-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cert = async (path: string) => new X509Certificate(await readFile(path));

describe('ensureDevPki', () => {
  it('creates a CA, a localhost server certificate and client certificates it signed', async () => {
    const { paths, generated } = await ensureDevPki(dir);
    expect(generated).toBe(true);
    const ca = await cert(paths.caCertPath);
    const server = await cert(paths.server.certPath);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost('localhost')).toBe('localhost');
    for (const client of Object.values(paths.clients)) {
      const c = await cert(client.certPath);
      expect(c.verify(ca.publicKey)).toBe(true);
      expect(c.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
      expect((await stat(client.keyPath)).mode & 0o777).toBe(0o600);
    }
    expect((await stat(paths.caKeyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.server.keyPath)).mode & 0o777).toBe(0o600);
  });

  it('issues the internode certificate (serverAuth + clientAuth) from a CA of its own', async () => {
    const { paths } = await ensureDevPki(dir);
    const devCa = await cert(paths.caCertPath);
    const internodeCa = await cert(paths.internode.caCertPath);
    const internode = await cert(paths.internode.certPath);
    expect(internodeCa.ca).toBe(true);
    expect(internode.verify(internodeCa.publicKey)).toBe(true);
    // The dev CA signs every application's client certificate; it must not vouch for internode peers.
    expect(internode.verify(devCa.publicKey)).toBe(false);
    for (const client of Object.values(paths.clients)) {
      expect((await cert(client.certPath)).verify(internodeCa.publicKey)).toBe(false);
    }
    expect(internode.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(internode.checkHost('localhost')).toBe('localhost');
    expect((await stat(paths.internode.keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.internode.caKeyPath)).mode & 0o777).toBe(0o600);
  });

  it('adds a missing internode set without replacing the dev CA and its client certificates', async () => {
    const { paths } = await ensureDevPki(dir);
    const caSerial = (await cert(paths.caCertPath)).serialNumber;
    await rm(paths.internode.certPath);
    const again = await ensureDevPki(dir);
    expect(again.generated).toBe(true);
    expect((await cert(paths.caCertPath)).serialNumber).toBe(caSerial);
    expect(await cert(paths.internode.certPath)).toBeDefined();
  });

  it('keeps a valid set and regenerates one that is about to expire', async () => {
    const first = await ensureDevPki(dir);
    const firstSerial = (await cert(first.paths.caCertPath)).serialNumber;
    const again = await ensureDevPki(dir);
    expect(again.generated).toBe(false);
    const expiring = await ensureDevPki(dir, { minRemainingMs: 31 * 86_400_000 });
    expect(expiring.generated).toBe(true);
    expect((await cert(expiring.paths.caCertPath)).serialNumber).not.toBe(firstSerial);
  });

  it('regenerates when a key file is missing', async () => {
    const { paths } = await ensureDevPki(dir);
    await rm(paths.clients.worker.keyPath);
    expect((await ensureDevPki(dir)).generated).toBe(true);
  });
});
