import { status as GrpcStatus } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { devTls } from '../../src/dev.js';
import {
  type AccessToken,
  type AuthRejectedEvent,
  connectClient,
  connectWorker,
  RefreshingToken,
  TemporalConnectError,
} from '../../src/index.js';
import { expiredStackClaims, issuerSigningKey, signWith } from '../support/forged-tokens.js';
import { devConfig, devRoot, grpcCodeOf, issueToken } from '../support/stack.js';
import { until } from '../support/wait.js';

const config = devConfig();
const namespace = config.temporal.namespace;

/** A source that serves the scripted tokens in order and counts its calls. */
function scriptedSource(tokens: Array<() => Promise<AccessToken>>) {
  const source = {
    calls: 0,
    getToken: () => {
      const next = tokens[Math.min(source.calls, tokens.length - 1)] as () => Promise<AccessToken>;
      source.calls += 1;
      return next();
    },
  };
  return source;
}

async function expiredButSignedByTheIssuer(): Promise<string> {
  return signWith(
    { ...expiredStackClaims(config), permissions: ['default:write'] },
    await issuerSigningKey(devRoot()),
  );
}

describe('the client auth interceptor on the real server', () => {
  it('retries a call refused for a stale token once, with a fresh token, and the call succeeds', async () => {
    const stale = await expiredButSignedByTheIssuer();
    const source = scriptedSource([
      // Looks valid to the client (a revoked or clock-skewed token would too), the server refuses it.
      async () => ({ token: stale, expiresAt: Date.now() + 60_000 }),
      async () => ({ token: await issueToken(config, 'developer'), expiresAt: Date.now() + 60_000 }),
    ]);
    const token = new RefreshingToken({ source, minRejectedRefreshIntervalMs: 0 });
    const rejected: AuthRejectedEvent[] = [];
    // The server already refuses the stale token at the connect-time GetSystemInfo: the connect
    // itself recovers, and the later call goes out with the fresh token.
    const connection = await connectClient({
      address: config.temporal.address,
      tls: devTls(config),
      token,
      onAuthRejected: (event) => rejected.push(event),
    });
    try {
      const answer = await connection.workflowService.describeNamespace({ namespace });
      expect(answer.namespaceInfo?.name).toBe(namespace);
      expect(rejected).toEqual([
        {
          method: '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
          code: 'PERMISSION_DENIED',
          retrying: true,
        },
      ]);
      expect(source.calls).toBe(2);
    } finally {
      await connection.close();
      token.stop();
    }
  });

  it('passes a refusal of a fresh token straight on, without refetching or retrying', async () => {
    const source = scriptedSource([
      async () => ({ token: await issueToken(config, 'reader'), expiresAt: Date.now() + 60_000 }),
    ]);
    const token = new RefreshingToken({ source });
    const rejected: AuthRejectedEvent[] = [];
    const connection = await connectClient({
      address: config.temporal.address,
      tls: devTls(config),
      token,
      onAuthRejected: (event) => rejected.push(event),
    });
    try {
      const call = connection.workflowService.startWorkflowExecution({
        namespace,
        workflowId: 'reader-may-not-start',
        workflowType: { name: 'smokeWorkflow' },
        taskQueue: { name: 'nowhere' },
        requestId: crypto.randomUUID(),
      });
      await expect(grpcCodeOf(call)).resolves.toBe(GrpcStatus.PERMISSION_DENIED);
      expect(rejected.map((e) => e.retrying)).toEqual([false]);
      expect(source.calls).toBe(1);
    } finally {
      await connection.close();
      token.stop();
    }
  });

  it('fails a call with UNAUTHENTICATED naming the auth error when no token can be had, instead of sending it bare', async () => {
    let fail = false;
    const source = scriptedSource([
      async () => {
        if (fail) throw new Error('token service down');
        return { token: await issueToken(config, 'developer'), expiresAt: Date.now() + 1_000 };
      },
    ]);
    const token = new RefreshingToken({ source, safetyMarginMs: 0, refreshAt: 1 });
    const connection = await connectClient({ address: config.temporal.address, tls: devTls(config), token });
    try {
      fail = true;
      // The token's one second runs out, and with the source failing there is no other to be had.
      await until(() => token.current() === undefined, 'the one-second token to expire');
      const error = await connection.workflowService.describeNamespace({ namespace }).then(
        () => undefined,
        (err: unknown) => err as { code: number; details: string },
      );
      expect(error?.code).toBe(GrpcStatus.UNAUTHENTICATED);
      expect(error?.details).toMatch(/tokenrelay could not obtain a token \[auth\.token_source_failed\]/);
    } finally {
      await connection.close();
      token.stop();
    }
  });

  it('connects with settings read from TEMPORAL_* variables, as the Temporal CLI would', async () => {
    const token = new RefreshingToken({
      source: async () => ({ token: await issueToken(config, 'developer'), expiresAt: Date.now() + 60_000 }),
    });
    const t = config.temporal;
    const connection = await connectClient({
      token,
      envConfig: {
        env: {
          TEMPORAL_ADDRESS: t.address,
          TEMPORAL_TLS_SERVER_NAME: t.serverName,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: t.caCertPath,
          TEMPORAL_TLS_CLIENT_CERT_PATH: t.clientCertPath,
          TEMPORAL_TLS_CLIENT_KEY_PATH: t.clientKeyPath,
        },
      },
    });
    try {
      const answer = await connection.workflowService.describeNamespace({ namespace });
      expect(answer.namespaceInfo?.name).toBe(namespace);
    } finally {
      await connection.close();
      token.stop();
    }
  });

  it.each([
    ['connectClient', connectClient],
    ['connectWorker', connectWorker],
  ] as const)(
    '%s reports a token refused at connect as such, with what to check, not as an address or TLS problem',
    async (_name, connect) => {
      // The demo API's token: signed by the same issuer, but for another audience.
      const wrongAudience = await issueToken(config, 'apiClient');
      const token = new RefreshingToken({
        source: async () => ({ token: wrongAudience, expiresAt: Date.now() + 60_000 }),
      });
      try {
        const error = await connect({ address: config.temporal.address, tls: devTls(config), token }).then(
          async (connection) => {
            await connection.close();
            return undefined;
          },
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(TemporalConnectError);
        const e = error as TemporalConnectError;
        expect(e.code).toBe('temporal.token_rejected');
        expect(['permission_denied', 'unauthenticated']).toContain(e.reason);
        expect(e.message).toMatch(/refused the token \((PermissionDenied|Unauthenticated)/);
        expect(e.message).toMatch(/`aud`.*permissions.*`kid`.*expired/);
        expect(e.message).toContain(`aud "${config.demoApi.audience}"`);
        expect(e.message).not.toMatch(/check the address|TLS handshake/);
        expect(e.message).not.toContain(wrongAudience);
      } finally {
        token.stop();
      }
    },
  );
});
