import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devLayout, devTls, devToken } from '../../src/dev.js';
import { devPkiPaths, issueLeaf, loadCertificateAuthority } from '../../src/devstack/pki.js';
import { type ClientConnection, connectClient } from '../../src/index.js';
import { devConfig, devRoot } from '../support/stack.js';
import { sleep, until } from '../support/wait.js';

const config = devConfig();
const namespace = config.temporal.namespace;

/**
 * A plain TCP relay in front of Temporal: TLS passes through it untouched, and `dropAll()` cuts every
 * connection, so the client must connect — and so hand over its certificate — again.
 */
async function tcpRelay(
  target: string,
): Promise<{ address: string; accepted(): number; dropAll(): void; close(): Promise<void> }> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((inbound) => {
    accepted += 1;
    const outbound = connect({ host, port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted: () => accepted,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client certificate from the stack's CA into `dir`, valid until `notAfter`. */
async function clientCertificate(dir: string, name: string, notAfter: Date) {
  const paths = { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}-key.pem`) };
  const ca = await loadCertificateAuthority(devPkiPaths(devLayout(devRoot()).pkiDir));
  await issueLeaf(ca, paths, {
    commonName: `tokenrelay-${name}`,
    usage: 'client',
    validityDays: 1,
    notAfter,
  });
  return paths;
}

describe('client connections follow replaced certificate files', () => {
  it('swaps in rotated files under a running client, which keeps working once the old certificate has expired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenrelay-client-rotation-'));
    const relay = await tcpRelay(config.temporal.address);
    // The first certificate expires in a few seconds; the files are then replaced by a fresh one.
    const expiresAt = new Date(Date.now() + 12_000);
    const first = await clientCertificate(dir, 'client', expiresAt);
    // A control client that does not watch, on its own copy of the short-lived certificate.
    const control = { certPath: join(dir, 'control.pem'), keyPath: join(dir, 'control-key.pem') };
    await copyFile(first.certPath, control.certPath);
    await copyFile(first.keyPath, control.keyPath);

    const token = devToken(config, 'developer');
    const reloaded: number[] = [];
    const reloadFailures: Error[] = [];
    const tls = (paths: { certPath: string; keyPath: string }) => ({
      ...devTls(config),
      clientCertPath: paths.certPath,
      clientKeyPath: paths.keyPath,
    });
    const watching = await connectClient({
      address: relay.address,
      tls: tls(first),
      token,
      certificateCheckIntervalMs: 200,
      onCertificatesReloaded: () => reloaded.push(Date.now()),
      onCertificateReloadFailed: (error) => reloadFailures.push(error),
    });
    const unwatched = await connectClient({
      address: relay.address,
      tls: tls(control),
      token,
      certificateCheckIntervalMs: false,
    });
    const call = (c: ClientConnection) =>
      c.withDeadline(Date.now() + 5_000, () => c.workflowService.describeNamespace({ namespace }));

    // Calls run without pause through the rotation: none may fail.
    let running = true;
    const failures: string[] = [];
    let completed = 0;
    const stream = (async () => {
      while (running) {
        try {
          await call(watching);
          completed += 1;
        } catch (err) {
          failures.push((err as Error).message);
        }
        await sleep(50); // the stream's pace, not a wait for anything
      }
    })();
    try {
      await until(() => completed >= 3, 'calls to complete before the rotation');
      const oldPem = await readFile(first.certPath, 'utf8');
      await clientCertificate(dir, 'client', new Date(Date.now() + 86_400_000));
      expect(await readFile(first.certPath, 'utf8')).not.toBe(oldPem);
      await until(
        () => reloaded.length + reloadFailures.length > 0,
        'the watching client to notice the replaced files',
      );
      expect(reloadFailures).toEqual([]);
      expect(reloaded).toHaveLength(1);
      const completedAtSwap = completed;

      // Past the old certificate's end, every connection is cut: both clients must hand over a
      // certificate again. The server refuses the expired one (the control client) and takes the
      // replacement (the watching client).
      // Waiting past the old certificate's end is the subject: the server must see an expired one.
      await sleep(Math.max(0, expiresAt.getTime() - Date.now() + 1_500));
      expect(Date.parse(new X509Certificate(oldPem).validTo)).toBeLessThan(Date.now());
      const before = failures.length;
      const acceptedBeforeCut = relay.accepted();
      relay.dropAll();
      await until(() => relay.accepted() > acceptedBeforeCut, 'the watching client to connect again');
      await expect(call(watching)).resolves.toMatchObject({ namespaceInfo: { name: namespace } });
      await expect(call(unwatched)).rejects.toThrow();
      running = false;
      await stream;
      // A call cut in flight by dropAll may fail once; everything before the cut succeeded.
      expect(failures.slice(0, before)).toEqual([]);
      expect(failures.length - before).toBeLessThanOrEqual(1);
      expect(completed).toBeGreaterThan(completedAtSwap);
    } finally {
      running = false;
      await stream;
      await watching.close();
      await unwatched.close();
      await relay.close();
      token.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('keeps the current certificates when the replacement files are not a usable pair', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenrelay-client-rotation-'));
    const paths = { certPath: join(dir, 'client.pem'), keyPath: join(dir, 'client-key.pem') };
    await copyFile(config.temporal.clientCertPath, paths.certPath);
    await copyFile(config.temporal.clientKeyPath, paths.keyPath);
    const token = devToken(config, 'developer');
    const failures: Error[] = [];
    const connection = await connectClient({
      address: config.temporal.address,
      tls: { ...devTls(config), clientCertPath: paths.certPath, clientKeyPath: paths.keyPath },
      token,
      certificateCheckIntervalMs: false,
      onCertificateReloadFailed: (error) => failures.push(error),
    });
    try {
      // The admin key does not belong to the worker certificate.
      await copyFile(config.temporal.adminKeyPath, paths.keyPath);
      await expect(connection.reloadCertificates()).rejects.toMatchObject({
        code: 'temporal.tls_material_invalid',
      });
      expect(failures.map((e) => (e as { code?: string }).code)).toEqual(['temporal.tls_material_invalid']);
      const answer = await connection.workflowService.describeNamespace({ namespace });
      expect(answer.namespaceInfo?.name).toBe(namespace);
    } finally {
      await connection.close();
      token.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
