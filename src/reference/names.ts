// The reference application's names: the dev stack scopes its applications to them and the CLI uses
// them. Kept apart from the workflows and activities themselves: commands that need only the names
// (and every command, in a published package without those folders) must not load them.

/** The reference worker's task queue: the default of `workflow start`. */
export const REFERENCE_TASK_QUEUE = 'tokenrelay-reference';

/** The StatefulWorkflow types of the reference tree; `inventorySync` is its root. */
export const REFERENCE_WORKFLOW_TYPES = ['inventorySync', 'regionSync', 'storeSync'] as const;
export const REFERENCE_ROOT_TYPE = 'inventorySync';
