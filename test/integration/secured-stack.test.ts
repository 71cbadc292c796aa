import { randomUUID } from 'node:crypto';
import { Client, type Connection } from '@temporalio/client';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devTls, devToken } from '../../src/dev.js';
import {
  type ClientConnection,
  connectWorker,
  type SupervisedWorker,
  TemporalConnectError,
} from '../../src/index.js';
import { expiredStackClaims, issuerSigningKey, signWith, stackClaims } from '../support/forged-tokens.js';
import { runSmokeWorkflow } from '../support/smoke-workflow.js';
import { callCode, devConfig, devRoot, grpcCodeOf, issueToken, rawConnection } from '../support/stack.js';
import { connectTestClient, startTestWorker } from '../support/temporal.js';

const PERMISSION_DENIED = 7;
const config = devConfig();
const namespace = config.temporal.namespace;
const describeDefault = (c: Connection) => c.workflowService.describeNamespace({ namespace });

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
    const token = await signWith(stackClaims(config), {
      alg: 'ES256',
      kid: 'rogue-key',
      privateKey: rogue.privateKey,
    });
    await expect(callCode(config, { token }, describeDefault)).resolves.toBe(PERMISSION_DENIED);
  });

  it('refuses an expired token even when it is signed by the real issuer key', async () => {
    const key = await issuerSigningKey(devRoot());
    const real = await signWith(stackClaims(config), key);
    const expired = await signWith(expiredStackClaims(config), key);
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
    let supervised: SupervisedWorker;
    let writerConnection: ClientConnection;
    let writer: Client;
    let readerConnection: Connection;

    beforeAll(async () => {
      ({ supervised } = await startTestWorker(config, { token, taskQueue }));
      ({ connection: writerConnection, client: writer } = await connectTestClient(config, { token }));
      await writer.workflow.start('heldWorkflow', { taskQueue, workflowId });
      readerConnection = await rawConnection(config, { token: await issueToken(config, 'reader') });
    });

    afterAll(async () => {
      await writer.workflow.getHandle(workflowId).signal('release');
      await supervised.shutdown();
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
