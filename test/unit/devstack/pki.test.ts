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
