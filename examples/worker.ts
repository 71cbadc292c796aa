import { Client } from '@temporalio/client';
import {
  ClientCredentialsTokenSource,
  codecFromEnv,
  connectClient,
  RefreshingToken,
  runWorker,
} from 'tokenrelay';
import { createActivities } from './activities.js';

// The worker application's credentials; the token endpoint can be tokenrelay's issuer, Keycloak, Auth0…
const token = new RefreshingToken({
  source: new ClientCredentialsTokenSource({
    tokenUrl: 'https://auth.example.com/oauth/token',
    clientId: process.env.APP_CLIENT_ID ?? '',
    clientSecret: process.env.APP_CLIENT_SECRET ?? '',
  }),
});
// Or leave address/tls out and set TEMPORAL_ADDRESS, TEMPORAL_TLS_* or a temporal.toml profile.
const connection = {
  address: 'temporal.example.com:7233',
  namespace: 'catalog',
  tls: { caCertPath: 'ca.pem', clientCertPath: 'worker.pem', clientKeyPath: 'worker-key.pem' },
  token,
};
// TOKENRELAY_CODEC_KEYS="k2:<base64>,k1:<base64>": tokens in signals and inputs stay encrypted in history.
const codec = await codecFromEnv();

// Activities ask their workflow for the current token through a client of their own.
const client = new Client({
  connection: await connectClient(connection),
  namespace: 'catalog',
  ...(codec ? { dataConverter: { payloadCodecs: [codec] } } : {}),
});

// Restarts the worker after an issuer outage outlives its token, swaps in replaced certificate files,
// and shuts down gracefully on SIGINT/SIGTERM.
await runWorker({
  ...connection,
  worker: {
    taskQueue: 'catalog',
    workflowsPath: new URL('./workflows.js', import.meta.url).pathname,
    activities: createActivities(client),
  },
});
