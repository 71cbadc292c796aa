// Node-side public API. Workflow code imports from 'tokenrelay/workflow' instead; helpers for the
// local dev stack live in 'tokenrelay/dev'.

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
export { AesGcmPayloadCodec, type AesGcmPayloadCodecOptions } from './codec/aes-gcm-codec.js';
export { CODEC_KEYS_ENV, codecFromEnv, generateCodecKey, parseCodecKeys } from './codec/codec-keys.js';
export {
  type CodecServerOptions,
  createCodecServer,
  type RunningCodecServer,
  startCodecServer,
  WITHHELD_METADATA,
} from './codec/codec-server.js';
export { CodecServerError, type CodecServerErrorCode } from './codec/codec-server-errors.js';
export { CodecError, type CodecErrorCode } from './codec/errors.js';
export { mayCarryApiToken } from './codec/token-payloads.js';
export { TokenRelayError } from './errors.js';
export {
  type AccessKeyView,
  type ApplicationAdminOptions,
  type ApplicationUpdate,
  type ApplicationView,
  type ChangeDetails,
  type CreatedAccessKey,
  createAccessKey,
  createApplication,
  deleteAccessKey,
  deleteApplication,
  getApplication,
  listApplications,
  type NewAccessKey,
  type NewApplication,
  pauseAccessKey,
  resumeAccessKey,
  revokeAccessKey,
  updateApplication,
} from './issuer/application-admin.js';
export { type AuditEvent, AuditLog, type AuditSink } from './issuer/audit-log.js';
export { type IssuerConfig, loadIssuerConfig } from './issuer/config.js';
export {
  IssuerConfigError,
  IssuerStateError,
  type IssuerStateErrorCode,
  OAuthError,
  type OAuthErrorCode,
} from './issuer/errors.js';
export { type IssuerState, openIssuerState } from './issuer/issuer-state.js';
export { type RunningIssuer, startIssuer } from './issuer/run.js';
export {
  listSigningKeys,
  rotateSigningKey,
  type SigningKeyAdminOptions,
  type SigningKeyInfo,
} from './issuer/signing-key-admin.js';
export type { SigningKeyState } from './issuer/signing-key-schedule.js';
export {
  type AllowedAlgorithm,
  createTokenValidator,
  TokenValidationError,
  type TokenValidationErrorCode,
  type ValidatedToken,
  type ValidateTokenOptions,
  validateToken,
} from './issuer/validate-token.js';
export { currentApiAccess } from './stateful/activity.js';
export {
  type ApiTokenWarning,
  getApiToken,
  getApiTokenInfo,
  type RotateApiTokenOptions,
  rotateApiToken,
  type StartParentOptions,
  startParent,
  treeParentOf,
} from './stateful/client.js';
export { StatefulError, type StatefulErrorCode } from './stateful/errors.js';
export { ApiTokenGuardError, type ApiTokenGuardErrorCode } from './stateful/guard-errors.js';
export { relayApiTokenHandoffs, statefulWorkflowActivities } from './stateful/handoff-relay.js';
export type {
  ApiAccess,
  ApiTokenChildInfo,
  ApiTokenChildren,
  ApiTokenEnvelope,
  ApiTokenInfo,
  HandoffRelayOutcome,
  HandoffReply,
  RelayOptions,
} from './stateful/messages.js';
export { RELAY_HANDOFF_ACTIVITY } from './stateful/messages.js';
export {
  assertTokenEncrypted,
  type CodecProbe,
  type PlaintextGuardOptions,
  probePayloadCodecs,
} from './stateful/plaintext-guard.js';
export {
  type ApiTokenRotationActivities,
  type ApiTokenRotationActivityOptions,
  createApiTokenRotationActivities,
  type IssuedApiToken,
  type RevokeHook,
  revokeByJsonPost,
} from './stateful/rotation/activities.js';
export { RotationError, type RotationErrorCode } from './stateful/rotation/errors.js';
export { defaultRotationIntervalMs } from './stateful/rotation/interval.js';
export {
  deleteApiTokenRotation,
  describeApiTokenRotation,
  listApiTokenRotations,
  pauseApiTokenRotation,
  planApiTokenRotation,
  type RotationRun,
  type RotationScheduleDescription,
  type RotationSchedulePlan,
  resumeApiTokenRotation,
  type ScheduleApiTokenRotationOptions,
  scheduleApiTokenRotation,
  triggerApiTokenRotation,
} from './stateful/rotation/schedule.js';
export {
  type ApiTokenRotationWorkerOptions,
  rotationWorkflowsPath,
  startApiTokenRotationWorker,
} from './stateful/rotation/worker.js';
export { assertTokenNotExpired } from './stateful/token-expiry.js';
export {
  type ApiTokenInfoReader,
  type ApiTokenNodeStatus,
  type ApiTokenTree,
  type ApiTokenTreeNode,
  type ApiTokenTreeOptions,
  getApiTokenTree,
  TreeError,
  type TreeErrorCode,
  type UnreachableReason,
  type WaitForApiTokenTreeOptions,
  waitForApiTokenTree,
  walkApiTokenTree,
} from './stateful/tree.js';
export {
  type AuthInterceptorOptions,
  type AuthRejectedEvent,
  authInterceptors,
  bearerTokenInterceptor,
} from './temporal/auth-interceptors.js';
export {
  type ClientConnection,
  type ConnectClientOptions,
  type ConnectOptions,
  connectClient,
  connectWorker,
} from './temporal/connect.js';
export { TemporalConnectError, type TemporalConnectErrorCode } from './temporal/errors.js';
export {
  type RunWorkerOptions,
  runWorker,
  SupervisedWorker,
  startWorker,
  type WorkerFailedEvent,
} from './temporal/run-worker.js';
export {
  type ConnectionSettings,
  type EnvConfigOptions,
  resolveConnectionSettings,
} from './temporal/settings.js';
export { loadTlsConfig, type TlsOptions } from './temporal/tls.js';
