import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { connectClient } from '../temporal/connect.js';
import { type DevAppName, type DevConfig, devTls, devToken } from './dev-config.js';

// The two calls `dev up` makes to the Temporal server it started, each as the dev application whose
// rights it needs: registering the namespace (admin) and proving the worker's token works (worker).

/**
 * Registers the dev namespace; true once it exists (registered now or before). False while the server
 * is not answering yet, so it can be polled during start-up.
 */
export async function tryRegisterNamespace(config: DevConfig): Promise<boolean> {
  try {
    await withClient(config, 'admin', (c) =>
      c.workflowService.registerNamespace({
        namespace: config.temporal.namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      }),
    );
    return true;
  } catch (err) {
    return (err as { code?: number }).code === GrpcStatus.ALREADY_EXISTS;
  }
}

/**
 * Whether a call with the worker's token succeeds: the server is up, has fetched the issuer's JWKS and
 * sees the namespace. What "the stack is ready" means to everything that connects afterwards.
 */
export async function workerTokenAccepted(config: DevConfig): Promise<boolean> {
  try {
    await withClient(config, 'worker', (c) =>
      c.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
    );
    return true;
  } catch {
    return false;
  }
}

async function withClient<T>(
  config: DevConfig,
  app: DevAppName,
  fn: (c: Connection) => Promise<T>,
): Promise<T> {
  const token = devToken(config, app);
  let connection: Connection | undefined;
  try {
    connection = await connectClient({
      address: config.temporal.address,
      tls: devTls(config, app === 'admin' ? 'admin' : 'worker'),
      token,
    });
    return await fn(connection);
  } finally {
    token.stop();
    await connection?.close();
  }
}
