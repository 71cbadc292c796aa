import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevPki } from '../../../src/devstack/pki.js';
import { loadTlsConfig } from '../../../src/temporal/tls.js';

let dir: string;
let pki: Awaited<ReturnType<typeof ensureDevPki>>['paths'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenrelay-tls-'));
  pki = (await ensureDevPki(dir)).paths;
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('loadTlsConfig', () => {
  it('reads paths into the shape Temporal connections take', async () => {
    const tls = await loadTlsConfig({
      serverName: 'localhost',
      caCertPath: pki.caCertPath,
      clientCertPath: pki.clients.worker.certPath,
      clientKeyPath: pki.clients.worker.keyPath,
    });
    expect(tls.serverNameOverride).toBe('localhost');
    expect(tls.clientCertPair?.crt).toEqual(await readFile(pki.clients.worker.certPath));
  });

  it('refuses a key that does not belong to the certificate, naming the problem', async () => {
    await expect(
      loadTlsConfig({
        clientCertPath: pki.clients.worker.certPath,
        clientKeyPath: pki.clients.admin.keyPath,
      }),
    ).rejects.toMatchObject({ code: 'temporal.tls_material_invalid', message: /cannot be used together/ });
  });

  it('names the unreadable file and the conflicting options', async () => {
    await expect(loadTlsConfig({ caCertPath: '/nonexistent/ca.pem' })).rejects.toMatchObject({
      code: 'temporal.tls_file_unreadable',
      message: /caCertPath \/nonexistent\/ca.pem: ENOENT/,
    });
    await expect(loadTlsConfig({ caCert: 'x', caCertPath: pki.caCertPath })).rejects.toThrow(
      /give caCert or caCertPath, not both/,
    );
    await expect(loadTlsConfig({ clientCertPath: pki.clients.worker.certPath })).rejects.toThrow(
      /must be given together/,
    );
  });
});
