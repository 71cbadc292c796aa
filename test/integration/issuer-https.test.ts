// Issue 14 F4 on the dev stack: the issuer speaks HTTPS with a certificate of the dev CA, Temporal
// fetches its JWKS over HTTPS (trusting the dev CA through SSL_CERT_FILE), and so does the demo API.
// Plain HTTP remains only on the issuer's explicit loopback listener.
import { readFile } from 'node:fs/promises';
import { Client } from '@temporalio/client';
import { fetch as undiciFetch } from 'undici';
import { describe, expect, inject, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { RefreshingToken } from '../../src/auth/refreshing-token.js';
import { devIssuerDispatcher } from '../../src/devstack/dev-ca-dispatcher.js';
import { devTls } from '../../src/devstack/dev-config.js';
import { temporalServerCommand } from '../../src/devstack/dev-stack.js';
import { devLayout } from '../../src/devstack/layout.js';
import { connectClient } from '../../src/temporal/connect.js';
import { recordSecret } from '../faults/helpers.js';
import { devConfig } from '../support/stack.js';

const config = devConfig();
const dispatcher = devIssuerDispatcher(config.temporal.caCertPath);

function httpsTokenSource(app: keyof typeof config.apps): ClientCredentialsTokenSource {
  return new ClientCredentialsTokenSource({
    tokenUrl: `${config.issuer.url}/oauth/token`,
    clientId: config.apps[app].clientId,
    clientSecret: config.apps[app].clientSecret,
    dispatcher,
  });
}

describe('the dev stack issuer over HTTPS', () => {
  it('serves HTTPS with a certificate of the dev CA, which the system trust store does not know', async () => {
    expect(config.issuer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await undiciFetch(`${config.issuer.url}/.well-known/jwks.json`, { dispatcher });
    expect(res.status).toBe(200);
    await expect(fetch(`${config.issuer.url}/health`)).rejects.toThrow();
    // The plain listener is loopback-only by construction.
    expect(new URL(config.issuer.tokenUrl).hostname).toBe('127.0.0.1');
  });

  it('Temporal fetches the JWKS over HTTPS and accepts a token issued over HTTPS', async () => {
    const command = await temporalServerCommand(
      devLayout(inject('devRoot')),
      '/unused/server-binary',
      config,
    );
    expect(command.env.TOKENRELAY_JWKS_URL).toBe(`${config.issuer.url}/.well-known/jwks.json`);
    expect(command.env.SSL_CERT_FILE).toBe(config.temporal.caCertPath);
    const token = new RefreshingToken({ source: httpsTokenSource('developer') });
    try {
      const connection = await connectClient({
        address: config.temporal.address,
        tls: devTls(config),
        token,
      });
      recordSecret('issuer-https developer token', token.current() ?? '');
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const described = await client.workflowService.describeNamespace({
        namespace: config.temporal.namespace,
      });
      expect(described.namespaceInfo?.name).toBe(config.temporal.namespace);
      await connection.close();
    } finally {
      token.stop();
    }
    const log = await readFile(devLayout(inject('devRoot')).temporalLogPath, 'utf8');
    expect(log).not.toMatch(/x509: certificate signed by unknown authority/);
  });

  it('the demo API validates tokens against the JWKS over HTTPS', async () => {
    const { token } = await httpsTokenSource('apiClient').getToken();
    recordSecret('issuer-https apiClient token', token);
    const res = await fetch(`${config.demoApi.url}/inventory`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const demoConfig = JSON.parse(await readFile(devLayout(inject('devRoot')).demoApiConfigPath, 'utf8')) as {
      jwksUrl: string;
    };
    expect(demoConfig.jwksUrl).toMatch(/^https:/);
  });
});
