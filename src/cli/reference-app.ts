// Names the reference application and the CLI share. Kept apart from reference-worker.ts, which
// loads the repository's activities/ and workflows/: commands that only need these names (and every
// command, in a published package without those folders) must not load them.

/** The reference worker's task queue: the default of `workflow start`. */
export const REFERENCE_TASK_QUEUE = 'tokenrelay-reference';
