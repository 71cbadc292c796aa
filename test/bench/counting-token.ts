// A RefreshingToken on the stack's real token endpoint that counts the requests it makes, so a
// measurement can report how often the hot path went to the issuer.
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { RefreshingToken } from '../../src/auth/refreshing-token.js';
import type { AccessToken } from '../../src/auth/token-source.js';
import type { DevConfig } from '../../src/devstack/dev-config.js';

export interface CountingToken {
  token: RefreshingToken;
  /** Token-endpoint requests made so far (one per fetch: the source posts exactly once). */
  requests(): number;
}

/**
 * @param clock the clock both the cache and the source read, so a test can move past expiry without
 *   waiting: expiry times are computed and compared on the same clock.
 */
export function countingToken(config: DevConfig, clock: () => number = Date.now): CountingToken {
  const { clientId, clientSecret } = config.apps.developer;
  const source = new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId,
    clientSecret,
    now: clock,
  });
  let requests = 0;
  const token = new RefreshingToken({
    source: {
      getToken(): Promise<AccessToken> {
        requests += 1;
        return source.getToken();
      },
    },
    now: clock,
  });
  return { token, requests: () => requests };
}
