import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as activities from '../../activities/index.js';
import { devTls, devToken } from '../../src/devstack/dev-config.js';
import { devLayout } from '../../src/devstack/layout.js';
import { loadOrCreateSigningKeys, type SigningKey } from '../../src/issuer/signing-keys.js';
import { packageRoot } from '../../src/package-root.js';
import { connectClient, connectWorker } from '../../src/temporal/connect.js';
import { TemporalConnectError } from '../../src/temporal/errors.js';
import { runSmokeWorkflow } from '../support/smoke-workflow.js';
import { callCode, devConfig, grpcCodeOf, issueToken, rawConnection } from './helpers.js';

const PERMISSION_DENIED = 7;
const config = devConfig();
const namespace = config.temporal.namespace;
const describeDefault = (c: Connection) => c.workflowService.describeNamespace({ namespace });

async function forge(
  claims: Record<string, unknown>,
  key: { alg: string; kid: string; privateKey: SigningKey['privateKey'] },
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

const validClaims = (nowS: number) => ({
  iss: config.issuer.url,
  sub: 'worker',
  aud: config.issuer.audience,
  iat: nowS,
  exp: nowS + 300,
  permissions: ['default:write'],
});

describe('the secured dev stack', () => {
  it('runs a workflow with one activity over mTLS with the developer application token', async () => {
    await expect(runSmokeWorkflow(config, 'integration')).resolves.toBe(
      'hello integration from describeCaller in namespace default',
    );
  });

  it('fails the TLS handshake when no client certificate is presented, and says so', async () => {
    const { clientCertPath, clientKeyPath, ...tlsWithoutCert } = devTls(config);
    const token = devToken(config);
    try {
      const attempt = connectWorker({ address: config.temporal.address, tls: tlsWithoutCert, token });
      await expect(attempt).rejects.toBeInstanceOf(TemporalConnectError);
      await expect(attempt).rejects.toMatchObject({
        code: 'temporal.connect_failed',
        message: expect.stringMatching(/TLS handshake failed/),
      });
      expect(clientCertPath && clientKeyPath).toBeTruthy();
    } finally {
      token.stop();
    }
  });

  it('refuses a call that has a certificate but no token', async () => {
    await expect(callCode(config, {}, describeDefault)).resolves.toBe(PERMISSION_DENIED);
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const rogue = await generateKeyPair('ES256');
    const nowS = Math.floor(Date.now() / 1000);
    const token = await forge(validClaims(nowS), {
      alg: 'ES256',
      kid: 'rogue-key',
      privateKey: rogue.privateKey,
    });
    await expect(callCode(config, { token }, describeDefault)).resolves.toBe(PERMISSION_DENIED);
  });

  it('refuses an expired token even when it is signed by the real issuer key', async () => {
    const [key] = await loadOrCreateSigningKeys(devLayout(inject('devRoot')).signingKeysPath);
    const nowS = Math.floor(Date.now() / 1000);
    const real = await forge(validClaims(nowS), key as SigningKey);
    const expired = await forge({ ...validClaims(nowS - 600), exp: nowS - 60 }, key as SigningKey);
    // The control proves the signature path works, so the refusal is about expiry alone.
    await expect(callCode(config, { token: real }, describeDefault)).resolves.toBe('ok');
    await expect(callCode(config, { token: expired }, describeDefault)).resolves.toBe(PERMISSION_DENIED);
  });

  it('refuses a token whose permissions name only another namespace', async () => {
    const token = await issueToken(config, 'outsider');
    // Same connection path with the worker's token succeeds: the refusal is about the namespace.
    await expect(
      callCode(config, { token: await issueToken(config, 'developer') }, describeDefault),
    ).resolves.toBe('ok');
    await expect(callCode(config, { token }, describeDefault)).resolves.toBe(PERMISSION_DENIED);
  });

  describe('a read-only token', () => {
    const taskQueue = `held-${randomUUID()}`;
    const workflowId = `held-${randomUUID()}`;
    const token = devToken(config, 'developer');
    let worker: Worker;
    let running: Promise<void>;
    let writerConnection: Connection;
    let readerConnection: Connection;

    beforeAll(async () => {
      const address = config.temporal.address;
      const tls = devTls(config);
      worker = await Worker.create({
        connection: await connectWorker({ address, tls, token }),
        namespace,
        taskQueue,
        workflowsPath: join(packageRoot(), 'workflows', 'index.ts'),
        activities,
      });
      running = worker.run();
      writerConnection = await connectClient({ address, tls, token });
      await new Client({ connection: writerConnection, namespace }).workflow.start('heldWorkflow', {
        taskQueue,
        workflowId,
      });
      readerConnection = await rawConnection(config, { token: await issueToken(config, 'reader') });
    });

    afterAll(async () => {
      await new Client({ connection: writerConnection, namespace }).workflow
        .getHandle(workflowId)
        .signal('release');
      worker.shutdown();
      await running;
      token.stop();
      await writerConnection.close();
      await readerConnection.close();
    });

    it('can query a workflow', async () => {
      const reader = new Client({ connection: readerConnection, namespace });
      await expect(reader.workflow.getHandle(workflowId).query('status')).resolves.toBe('held');
    });

    it('cannot start a workflow', async () => {
      const reader = new Client({ connection: readerConnection, namespace });
      const start = reader.workflow.start('heldWorkflow', { taskQueue, workflowId: `held-${randomUUID()}` });
      await expect(grpcCodeOf(start)).resolves.toBe(PERMISSION_DENIED);
    });
  });
});
