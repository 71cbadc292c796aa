import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { currentApiAccess } from 'tokenrelay';

export function createActivities(client: Client) {
  return {
    async syncShard(shard: number): Promise<number> {
      // Read at attempt time: a retry after a 401 uses the token a rotation delivered meanwhile.
      const { token, apiUrl } = await currentApiAccess(client);
      const res = await fetch(`${apiUrl}/items`, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) throw ApplicationFailure.retryable(`${res.status} for shard ${shard}`);
      return ((await res.json()) as unknown[]).length;
    },
  };
}
