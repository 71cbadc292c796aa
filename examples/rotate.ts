import { Client } from '@temporalio/client';
import {
  codecFromEnv,
  connectClient,
  getApiTokenInfo,
  RefreshingToken,
  rotateApiToken,
  StaticTokenSource,
  startParent,
} from 'tokenrelay';
import { catalogSync } from './workflows.js';

const token = new RefreshingToken({ source: new StaticTokenSource(process.env.TEMPORAL_JWT ?? '') });
const codec = await codecFromEnv();
const client = new Client({
  connection: await connectClient({ token }), // address and TLS from TEMPORAL_* / temporal.toml
  namespace: 'catalog',
  ...(codec ? { dataConverter: { payloadCodecs: [codec] } } : {}),
});

// Start a tree holding the first API token (version 1)…
const root = await startParent(client, catalogSync, {
  taskQueue: 'catalog',
  workflowId: 'catalog-sync',
  input: { apiUrl: 'https://api.example.com', shards: 5 },
  apiToken: process.env.CATALOG_API_TOKEN ?? '',
});

// …and rotate it: one signal to the root, the tree passes it down.
await rotateApiToken(root, process.env.CATALOG_API_TOKEN_NEXT ?? '');
const info = await getApiTokenInfo(root); // version, fingerprint, children reached — never the token
console.log(`catalog-sync holds token version ${info.version}, reached ${info.children.reached} children`);
