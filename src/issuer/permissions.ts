// The issuer signs only permissions of the grammar in auth/permissions.ts, so the Temporal server and
// the codec server never see a string they would have to guess about.
export {
  type GrantAction,
  isPermission,
  type Permission,
  parsePermission,
  permissionProblem,
  type TemporalRole,
  temporalRoles,
} from '../auth/permissions.js';
