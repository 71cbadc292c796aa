// The shared helpers moved to test/support/; this keeps older imports of './helpers.js' working.
export * from '../support/stack.js';
