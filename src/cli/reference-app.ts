// The reference application's names, re-exported for the CLI; they live with the dev stack, whose
// applications are scoped to them.
export { REFERENCE_TASK_QUEUE } from '../devstack/reference-app-names.js';
