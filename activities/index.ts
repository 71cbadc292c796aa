import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { currentApiAccess } from '../src/index.js';

/** Proves the activity ran on a worker that got past mTLS and the JWT authorizer. */
export async function describeCaller(name: string): Promise<string> {
  const info = Context.current().info;
  return `hello ${name} from ${info.activityType} in namespace ${info.workflowNamespace}`;
}

/**
 * The reference application's activities. `client` reaches the workflows' namespace: each attempt asks
 * its workflow for the token it holds right now, so a retry after a 401 uses a rotated-in token.
 */
export function createReferenceActivities(client: Client) {
  return {
    describeCaller,
    /** Syncs one node's inventory with the protected API; a refusal fails the attempt (retried). */
    async syncInventory(): Promise<{ version: number }> {
      const { token, version, apiUrl } = await currentApiAccess(client);
      if (!apiUrl) throw ApplicationFailure.nonRetryable('the workflow has no apiUrl');
      const response = await fetch(`${apiUrl}/inventory`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5_000),
      });
      await response.body?.cancel();
      if (!response.ok) {
        // Names the token version, never the token.
        throw ApplicationFailure.retryable(
          `${response.status} from ${apiUrl} with token version ${version}`,
          `Http${response.status}`,
        );
      }
      return { version };
    },
  };
}
