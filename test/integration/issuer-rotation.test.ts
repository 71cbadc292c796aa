import { join } from 'node:path';
import type { Connection } from '@temporalio/client';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { RefreshingToken } from '../../src/auth/refreshing-token.js';
import { devTls } from '../../src/devstack/dev-config.js';
import { createApplication } from '../../src/issuer/application-admin.js';
import { type IssuerState, openIssuerState } from '../../src/issuer/issuer-state.js';
import { listSigningKeys, rotateSigningKey } from '../../src/issuer/signing-key-admin.js';
import { connectClient } from '../../src/temporal/connect.js';
import { devConfig, grpcCodeOf } from '../support/stack.js';
import { sleep, until } from '../support/wait.js';

const config = devConfig();
const TOKEN_LIFETIME_S = 10;
let state: IssuerState;

beforeAll(async () => {
  // issuer.json carries the refresh interval dev up gave Temporal (3 s on the test stack).
  state = await openIssuerState(join(inject('devRoot'), 'issuer'));
});

afterAll(async () => {
  await state?.audit.flush();
});

describe('signing-key rotation with the real Temporal server refreshing its JWKS', () => {
  it('a client calling continuously across a rotation sees zero PermissionDenied', {
    timeout: 240_000,
  }, async () => {
    const { key } = await createApplication(state.applications, {
      id: 'rotation-probe',
      permissions: [`${config.temporal.namespace}:read`],
      tokenLifetimeSeconds: TOKEN_LIFETIME_S,
    });
    const kidsSeen: string[] = [];
    const newToken = () => {
      const source = new ClientCredentialsTokenSource({
        tokenUrl: config.issuer.tokenUrl,
        clientId: key.keyId,
        clientSecret: key.secret,
      });
      return new RefreshingToken({
        source: async () => {
          const fresh = await source.getToken();
          kidsSeen.push(String(decodeProtectedHeader(fresh.token).kid));
          return fresh;
        },
      });
    };
    const token = newToken();
    const rejections: unknown[] = [];
    const connection = await connectClient({
      address: config.temporal.address,
      tls: devTls(config),
      token,
      onAuthRejected: (event) => rejections.push(event),
    });
    const outcomes = new Map<number | 'ok', number>();
    let running = true;
    const caller = async () => {
      while (running) {
        const code = await grpcCodeOf(
          connection.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
        );
        outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
        // Pacing, not a wait: about 20 calls a second each, steady load without starving a two-core machine.
        await sleep(50);
      }
    };
    try {
      const callers = [caller(), caller()];
      await until(
        () => (outcomes.get('ok') ?? 0) >= 10,
        'calls succeeding on the old key before the rotation',
      );
      const oldKid = (await listSigningKeys(state.signingKeys)).find((k) => k.state === 'active')?.kid;
      const { created } = await rotateSigningKey(state.signingKeys);
      expect(created.state).toBe('pending');
      // Activation is a wall-clock time the schedule set (a verifier refresh interval ahead), and the
      // moment right after it is the case under test, so wait for the time itself.
      await sleep(Date.parse(created.activatesAt) - Date.now() + 50);
      // A client starting right at activation gets a token from the new key at once: the case that
      // fails when the key was not published a full verifier refresh interval ahead (Temporal
      // re-reads the JWKS only on its timer, never on an unknown kid).
      const lateToken = newToken();
      const lateCodes: Array<number | 'ok'> = [];
      let late: Connection | undefined;
      try {
        late = await connectClient({
          address: config.temporal.address,
          tls: devTls(config),
          token: lateToken,
          onAuthRejected: (event) => rejections.push(event),
        });
        for (let i = 0; i < 5; i++) {
          lateCodes.push(
            await grpcCodeOf(
              late.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
            ),
          );
        }
      } catch (err) {
        lateCodes.push(await grpcCodeOf(Promise.reject(err)));
      } finally {
        lateToken.stop();
        await late?.close();
      }
      expect(kidsSeen.at(-1)).toBe(created.kid);
      expect(lateCodes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      // Two token lifetimes: the continuously calling client must refresh, and use, several tokens signed
      // by the new key; a duration is the subject here, not a condition to poll for.
      await sleep(2 * TOKEN_LIFETIME_S * 1000);
      running = false;
      await Promise.all(callers);

      expect(kidsSeen).toContain(oldKid);
      expect(kidsSeen.at(-1)).toBe(created.kid); // the client really crossed the rotation
      expect(Object.fromEntries(outcomes)).toEqual({ ok: expect.any(Number) });
      expect(outcomes.get('ok')).toBeGreaterThan(50);
      expect(rejections).toEqual([]); // not even one refusal hidden by the interceptor's retry
      const states = Object.fromEntries(
        (await listSigningKeys(state.signingKeys)).map((k) => [k.kid, k.state]),
      );
      expect(states).toMatchObject({ [created.kid]: 'active', [oldKid as string]: 'retiring' });
    } finally {
      running = false;
      token.stop();
      await connection.close();
    }
  });
});
