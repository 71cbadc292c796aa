// The benchmark in quick mode against the integration stack, so its code cannot rot. It asserts that
// every measurement ran and that the counts are what the design promises; never a timing.
import { describe, expect, it } from 'vitest';
import { quickSizes, runBench } from '../bench/bench.js';
import { renderMarkdown } from '../bench/results.js';
import { testPort } from '../support/ports.js';
import { devConfig, devRoot } from '../support/stack.js';
import { treeIds } from './fixtures/stateful/harness.js';

describe('npm run bench -- --quick', () => {
  it('runs every measurement and reports well-formed counts', { timeout: 600_000 }, async () => {
    const config = devConfig();
    const results = await runBench({
      config,
      root: devRoot(),
      quick: true,
      // Port plans of their own, clear of the stack's (base … base + 181).
      plainPortBase: testPort('benchPlain'),
      defaultAuthorizerPortBase: testPort('benchDefaultAuthorizer'),
      log: (line) => process.stderr.write(`[bench] ${line}\n`),
    });
    expect(results.errors).toEqual({});

    const hot = results.hotPath!;
    expect(hot.chain.calls).toBe(quickSizes.hotPathCalls);
    expect(hot.tokenRequests).toBe(0);
    for (const view of [hot.chain, hot.loopback]) {
      expect(view.authNsPerOp).toBeGreaterThan(0);
      expect(view.headerOnlyNsPerOp).toBeGreaterThan(0);
      expect(view.baselineNsPerOp).toBeGreaterThan(0);
    }

    const contention = results.refreshContention!;
    expect(contention.callers).toBe(quickSizes.contentionCallers);
    expect(contention.served).toBe(quickSizes.contentionCallers);
    expect(contention.fetches).toBe(1);
    expect(contention.p99Ms).toBeGreaterThanOrEqual(contention.p50Ms);

    const throughput = results.workerThroughput!;
    for (const side of [throughput.secured, throughput.plain]) {
      expect(side.completed).toBe(quickSizes.throughputWorkflows);
      expect(side.rounds).toHaveLength(quickSizes.throughputRounds);
    }
    expect(throughput.ratio).toBeGreaterThan(0);

    const tree = results.propagation!;
    const workflows = treeIds('root', quickSizes.treeFanout, quickSizes.treeDepth).length;
    expect(tree.levels).toEqual([1, 2, 4, 8]);
    expect(tree.workflows).toBe(workflows);
    expect(tree.tree.reached).toBe(workflows);
    expect(tree.direct.reached).toBe(workflows);
    expect(tree.rawSignal.signals).toBe(workflows);
    expect(tree.tree.settledRunsMs).toHaveLength(quickSizes.rotations);
    expect(tree.direct.settledRunsMs).toHaveLength(quickSizes.rotations);
    expect(tree.tree.settledMs).toBeGreaterThanOrEqual(0);
    // Every workflow took at least the signal that delivered the token.
    expect(tree.tree.eventsPerWorkflow).toBeGreaterThan(0);
    expect(tree.direct.eventsPerWorkflow).toBeGreaterThan(0);
    // Read from the server's metrics: at least the signal's write and the workflow task's completion
    // for every workflow, so a matcher that stopped matching (0) fails here.
    expect(tree.direct.writesPerWorkflow).toBeGreaterThanOrEqual(2);
    expect(tree.tree.writesPerWorkflow).toBeGreaterThanOrEqual(2);
    // Confirmation is observed after holding, and the burst ends with every workflow on the last token.
    expect(tree.tree.confirmedMs).toBeGreaterThanOrEqual(tree.tree.observedMs);
    expect(tree.burst.rotations).toBe(quickSizes.burstRotations);
    expect(tree.burst.settledMs).toBeGreaterThanOrEqual(0);

    const scaling = results.treeScaling!;
    expect(scaling.map((p) => p.workflows)).toEqual(
      quickSizes.scalingDepths.map((depth) => treeIds('root', quickSizes.treeFanout, depth).length),
    );
    for (const point of scaling) {
      expect(point.settledMs).toBeGreaterThanOrEqual(0);
      expect(point.writesPerWorkflow).toBeGreaterThanOrEqual(2);
    }

    const issuer = results.issuer!;
    expect(issuer.requests).toBeGreaterThan(0);
    expect(issuer.failures).toBe(0);
    expect(issuer.joseSignsPerSecond).toBeGreaterThan(0);
    expect(issuer.rss.peakMiB).toBeGreaterThan(0);

    const authz = results.authorizerCost!;
    for (const side of [authz.tokenrelay, authz.default]) {
      expect(side.throughputRounds).toHaveLength(quickSizes.throughputRounds);
      expect(side.callP99Ms).toBeGreaterThanOrEqual(side.callP50Ms);
    }

    const memory = results.workerMemory!;
    expect(memory.workflows).toBe(workflows);
    expect(memory.treeMiB).toBeGreaterThan(0);

    const table = renderMarkdown(results);
    expect(table.split('\n').filter((line) => line.startsWith('| ')).length).toBeGreaterThanOrEqual(12);
  });
});
