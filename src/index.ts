// Node-side public API. Workflow code imports from 'tokenrelay/workflow' instead.

export {
  type ClientCredentialsOptions,
  ClientCredentialsTokenSource,
  type KeySecretOptions,
  KeySecretTokenSource,
  type TokenEndpointOptions,
} from './auth/client-credentials.js';
export { AuthError, type AuthErrorCode } from './auth/errors.js';
export {
  type RefreshedEvent,
  type RefreshFailedEvent,
  RefreshingToken,
  type RefreshingTokenOptions,
} from './auth/refreshing-token.js';
export {
  type AccessToken,
  StaticTokenSource,
  type TokenSource,
  type TokenSourceLike,
} from './auth/token-source.js';
export { type DevConfig, devTls, devToken, readDevConfig } from './devstack/dev-config.js';
export { TokenRelayError } from './errors.js';
export {
  bearerTokenInterceptor,
  type ConnectOptions,
  connectClient,
  connectWorker,
} from './temporal/connect.js';
export { TemporalConnectError, type TemporalConnectErrorCode } from './temporal/errors.js';
export { loadTlsConfig, type TlsOptions } from './temporal/tls.js';
