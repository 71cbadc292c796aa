import { describe, expect, expectTypeOf, it } from 'vitest';
import type { StatefulHandoff } from '../../../src/stateful/messages.js';
import { isStatefulWorkflow, StatefulWorkflow } from '../../../src/stateful/stateful-workflow.js';

interface SyncInput {
  apiUrl: string;
  shards: number;
}

class CatalogSync extends StatefulWorkflow<SyncInput, { synced: number }> {
  async run() {
    return { synced: this.input.shards };
  }
}

describe('StatefulWorkflow.workflow()', () => {
  it('names the workflow function after the class with a lower-case first letter', () => {
    // startChild starts children by this name, so it must equal the export name.
    expect(CatalogSync.workflow().name).toBe('catalogSync');
    expect(CatalogSync.workflow({ name: 'syncCatalogV2' }).name).toBe('syncCatalogV2');
  });

  it('keeps the input and result types of the subclass', () => {
    const catalogSync = CatalogSync.workflow();
    expectTypeOf(catalogSync).parameter(0).toEqualTypeOf<SyncInput>();
    expectTypeOf(catalogSync).parameter(1).toEqualTypeOf<StatefulHandoff | undefined>();
    expectTypeOf(catalogSync).returns.toEqualTypeOf<Promise<{ synced: number }>>();
  });

  it('marks its functions so startChild can tell them from plain workflows', () => {
    expect(isStatefulWorkflow(CatalogSync.workflow())).toBe(true);
    expect(isStatefulWorkflow(async () => 'plain')).toBe(false);
  });
});
