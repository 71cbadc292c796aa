// Sandbox-safe public API (`tokenrelay/workflow`): only @temporalio/workflow and plain TypeScript, no
// Node built-ins. Workflow code imports from here; node-side code may import the message definitions too.

export { StatefulError, type StatefulErrorCode } from './stateful/errors.js';
export { apiTokenFingerprint } from './stateful/fingerprint.js';
export {
  API_TOKEN_ACK_SIGNAL,
  API_TOKEN_HANDOFF_SIGNAL,
  type ApiAccess,
  type ApiTokenAck,
  type ApiTokenChildInfo,
  type ApiTokenChildren,
  type ApiTokenEnvelope,
  type ApiTokenInfo,
  apiAccessQuery,
  apiTokenInfoQuery,
  apiTokenQuery,
  apiTokenSignal,
  apiUrlQuery,
  apiUrlSignal,
  type CarriedChild,
  type HandoffRelayOutcome,
  RELAY_HANDOFF_ACTIVITY,
  RESERVED_SIGNAL_PREFIX,
  type StatefulHandoff,
} from './stateful/messages.js';
export {
  apiTokenRotation,
  apiTokenRotationStatusQuery,
} from './stateful/rotation/rotation-workflow.js';
export {
  API_TOKEN_ROTATION_WORKFLOW,
  type ApiTokenRotationInput,
  type ApiTokenRotationResult,
  type ApiTokenRotationStatus,
  DEFAULT_ROTATION_TASK_QUEUE,
  type IssuedTokenRecord,
  type RevocationOutcome,
  type RotationTargets,
  type TreeRotationOutcome,
  type TreeRotationReport,
} from './stateful/rotation/types.js';
export {
  COALESCE_ONCE_PATCH_ID,
  DEFAULT_COALESCE_ROTATIONS_MS,
  HANDOFF_PATCH_ID,
  isStatefulWorkflow,
  RELAY_PATCH_ID,
  type StatefulChildOptions,
  StatefulWorkflow,
  type StatefulWorkflowClass,
  type StatefulWorkflowFunction,
  type StatefulWorkflowOptions,
} from './stateful/stateful-workflow.js';
