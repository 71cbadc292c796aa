// Sandbox-safe public API (`tokenrelay/workflow`): only @temporalio/workflow and plain TypeScript, no
// Node built-ins. Workflow code imports from here; node-side code may import the message definitions too.

export { StatefulError, type StatefulErrorCode } from './stateful/errors.js';
export { apiTokenFingerprint } from './stateful/fingerprint.js';
export {
  type ApiAccess,
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
  type StatefulHandoff,
} from './stateful/messages.js';
export {
  isStatefulWorkflow,
  type StatefulChildOptions,
  StatefulWorkflow,
  type StatefulWorkflowClass,
  type StatefulWorkflowFunction,
} from './stateful/stateful-workflow.js';
