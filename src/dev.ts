// `tokenrelay/dev`: helpers for the local dev stack (`npx tokenrelay dev up`) — its connection details,
// mTLS files, application tokens and payload codec. Kept out of the main entry: production code
// connects with its own settings and credentials.

export {
  type DevAppCredentials,
  type DevAppName,
  type DevConfig,
  devCodec,
  devTls,
  devToken,
  readDevConfig,
} from './devstack/dev-config.js';
export { type DevWorker, type DevWorkerContext, startDevWorker } from './devstack/dev-worker.js';
export { DevStackError, type DevStackErrorCode } from './devstack/errors.js';
export { type DevLayout, devLayout } from './devstack/layout.js';
