// A benchmark worker in its own process, so its memory can be read apart from the driver's and the two
// do not share one event loop. Run as `node --import tsx worker-main.ts` with BENCH_WORKER set to a
// JSON WorkerSpec; prints "worker ready" once polling, shuts down on SIGTERM.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { ClientCredentialsTokenSource } from '../../src/auth/client-credentials.js';
import { RefreshingToken } from '../../src/auth/refreshing-token.js';
import { codecFromEnv } from '../../src/codec/codec-keys.js';
import { statefulWorkflowActivities } from '../../src/stateful/handoff-relay.js';
import { connectWorker } from '../../src/temporal/connect.js';
import { benchActivities } from './activities.js';
import type { WorkerSpec } from './worker-process.js';

Runtime.install({ logger: new DefaultLogger('WARN') });
const spec = JSON.parse(process.env.BENCH_WORKER ?? '') as WorkerSpec;
const token = spec.secured
  ? new RefreshingToken({ source: new ClientCredentialsTokenSource(spec.secured.tokenEndpoint) })
  : undefined;
const connection =
  spec.secured && token
    ? await connectWorker({ address: spec.address, tls: spec.secured.tls, token })
    : await NativeConnection.connect({ address: spec.address });
const codec = await codecFromEnv();
const worker = await Worker.create({
  connection,
  namespace: spec.namespace,
  taskQueue: spec.taskQueue,
  workflowBundle: { codePath: spec.bundlePath },
  activities: { ...(spec.relayHandoffs === false ? {} : statefulWorkflowActivities), ...benchActivities },
  // Every workflow of the tree stays cached, so the memory figure is the tree's and no rotation pays
  // for a replay; the default depends on the heap limit of the machine.
  maxCachedWorkflows: spec.maxCachedWorkflows,
  ...(codec ? { dataConverter: { payloadCodecs: [codec] } } : {}),
});
const running = worker.run();
process.once('SIGTERM', () => worker.shutdown());
process.stdout.write('worker ready\n');
await running;
await connection.close();
token?.stop();
