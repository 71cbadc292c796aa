// Workflow code: runs in Temporal's sandbox, so it imports only from 'tokenrelay/workflow'.
import { proxyActivities } from '@temporalio/workflow';
import { StatefulWorkflow } from 'tokenrelay/workflow';
import type { createActivities } from './activities.js';

const { syncShard } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
});

/** A shard: holds the token its parent hands down, and calls the API with it. */
export class ShardSync extends StatefulWorkflow<{ apiUrl: string; shard: number }, number> {
  async run(): Promise<number> {
    await this.waitForApiToken();
    return syncShard(this.input.shard);
  }
}
export const shardSync = ShardSync.workflow();

/** The root: receives the token (and every rotation) and passes it to its shards. */
export class CatalogSync extends StatefulWorkflow<{ apiUrl: string; shards: number }, number> {
  async run(): Promise<number> {
    const children = [];
    for (let shard = 0; shard < this.input.shards; shard++) {
      children.push(
        await this.startChild(shardSync, {
          workflowId: `catalog-shard-${shard}`,
          input: { apiUrl: `${this.input.apiUrl}/shards/${shard}`, shard },
        }),
      );
    }
    const counts = await Promise.all(children.map((child) => child.result()));
    return counts.reduce((a, b) => a + b, 0);
  }
}
export const catalogSync = CatalogSync.workflow();
