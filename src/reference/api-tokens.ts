import type { DevConfig } from '../dev.js';
import { ClientCredentialsTokenSource } from '../index.js';

/**
 * Where the reference application's API tokens come from on the dev stack: the demo API's own client
 * application (`apiClient`), whose audience Temporal refuses. The tour hands the tree its first token
 * from here; the dev rotation worker issues every later one from here too.
 */
export function devApiTokenSource(config: DevConfig): ClientCredentialsTokenSource {
  return new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId: config.apps.apiClient.clientId,
    clientSecret: config.apps.apiClient.clientSecret,
  });
}
