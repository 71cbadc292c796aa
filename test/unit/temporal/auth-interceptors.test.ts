import { status as GrpcStatus, type InterceptorOptions, Metadata, type StatusObject } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RefreshingToken } from '../../../src/auth/refreshing-token.js';
import { StaticTokenSource } from '../../../src/auth/token-source.js';
import { bearerTokenInterceptor } from '../../../src/temporal/auth-interceptors.js';

describe('bearerTokenInterceptor', () => {
  // Regression: Temporal's retry timer fired after connection.close(), grpc-js threw "Channel has been
  // shut down" from nextCall, and the error escaped as an uncaught exception in the user's process.
  it('fails the call with CANCELLED instead of throwing when the channel was shut down', async () => {
    const token = new RefreshingToken({ source: new StaticTokenSource('t') });
    const interceptor = bearerTokenInterceptor(token);
    const call = interceptor({} as InterceptorOptions, () => {
      throw new Error('Channel has been shut down');
    });
    const status = await new Promise<StatusObject>((resolve) => {
      call.start(new Metadata(), { onReceiveStatus: resolve });
    });
    expect(status.code).toBe(GrpcStatus.CANCELLED);
    expect(status.details).toMatch(/Channel has been shut down.*connection closed/);
    token.stop();
  });
});
