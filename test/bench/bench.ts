// Runs the six measurements of the benchmark one after another against a running dev stack and
// collects their figures. A measurement that fails is recorded with its error; the others still run.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { DevConfig } from '../../src/devstack/dev-config.js';
import { measureAuthorizerCost } from './authorizer-cost.js';
import { errorText } from './errors.js';
import { measureHotPath } from './hot-path.js';
import { measureIssuer } from './issuer-load.js';
import { measurePropagation } from './propagation.js';
import { measureRefreshContention } from './refresh-contention.js';
import type { BenchResults, BenchSizes } from './results.js';
import { round } from './stats.js';
import { measureTreeScaling } from './tree-scaling.js';
import { bundleBenchWorkflows } from './worker-process.js';
import { measureThroughput } from './worker-throughput.js';

export interface BenchOptions {
  /** The stack to measure (its dev.json). */
  config: DevConfig;
  /** The stack's folder: the issuer's process is found there, and bench state is kept under it. */
  root: string;
  quick: boolean;
  /** First port of the plain reference server (it uses base+33 … base+90). */
  plainPortBase: number;
  /** First port of the default-authorizer server of measurement 7 (the dev port plan from it). */
  defaultAuthorizerPortBase: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
  /**
   * Only these measurements (the names of `BenchResults['errors']`); default all. The workflow bundle
   * is made whenever a measurement that needs it runs.
   */
  only?: ReadonlySet<string>;
}

export const fullSizes: BenchSizes = {
  hotPathCalls: 100_000,
  loopbackCalls: 20_000,
  rounds: 5,
  contentionCallers: 10_000,
  throughputWorkflows: 400,
  throughputRounds: 4,
  throughputWarmup: 20,
  throughputConcurrency: 32,
  issuerConcurrency: 64,
  issuerDurationMs: 10_000,
  issuerWarmup: 640,
  treeFanout: 10,
  treeDepth: 3,
  scalingDepths: [2, 3, 4],
  authorizerWorkflows: 400,
  authorizerCalls: 500,
  burstRotations: 5,
  signalConcurrency: 64,
  rotations: 3,
  waitTimeoutMs: 600_000,
};

/** Small sizes, same code paths: what CI runs so the benchmark cannot rot. */
export const quickSizes: BenchSizes = {
  hotPathCalls: 2_000,
  loopbackCalls: 400,
  rounds: 2,
  contentionCallers: 500,
  throughputWorkflows: 10,
  throughputRounds: 2,
  throughputWarmup: 2,
  throughputConcurrency: 5,
  issuerConcurrency: 64,
  issuerDurationMs: 1_000,
  issuerWarmup: 64,
  treeFanout: 2,
  treeDepth: 3,
  scalingDepths: [1, 2],
  authorizerWorkflows: 10,
  authorizerCalls: 20,
  burstRotations: 5,
  signalConcurrency: 64,
  rotations: 2,
  waitTimeoutMs: 120_000,
};

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const sizes = options.quick ? quickSizes : fullSizes;
  const log = options.log ?? (() => {});
  const workDir = join(options.root, 'bench');
  const started = Date.now();
  const results: BenchResults = {
    mode: options.quick ? 'quick' : 'full',
    startedAt: new Date(started).toISOString(),
    durationS: 0,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverage1m: round(loadavg()[0] ?? 0, 2),
    },
    sizes,
    errors: {},
  };
  const step = async <T>(
    name: keyof BenchResults['errors'],
    fn: () => Promise<T>,
  ): Promise<T | undefined> => {
    if (options.only && name !== 'bundle' && !options.only.has(name)) return undefined;
    const t = Date.now();
    log(`${name}…`);
    try {
      const value = await fn();
      log(`${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return value;
    } catch (err) {
      results.errors[name] = errorText(err);
      log(`${name} failed: ${results.errors[name]}`);
      return undefined;
    }
  };

  const { config } = options;
  results.hotPath = await step('hotPath', () =>
    measureHotPath(config, {
      chainCalls: sizes.hotPathCalls,
      loopbackCalls: sizes.loopbackCalls,
      rounds: sizes.rounds,
    }),
  );
  results.refreshContention = await step('refreshContention', () =>
    measureRefreshContention(config, sizes.contentionCallers),
  );
  results.issuer = await step('issuer', () =>
    measureIssuer(config, {
      root: options.root,
      concurrency: sizes.issuerConcurrency,
      durationMs: sizes.issuerDurationMs,
      warmupRequests: sizes.issuerWarmup,
    }),
  );
  const bundlePath = await step('bundle', () => bundleBenchWorkflows(workDir));
  if (bundlePath) {
    results.workerThroughput = await step('workerThroughput', () =>
      measureThroughput(config, {
        workflows: sizes.throughputWorkflows,
        rounds: sizes.throughputRounds,
        warmupWorkflows: sizes.throughputWarmup,
        concurrency: sizes.throughputConcurrency,
        bundlePath,
        plainStateDir: join(workDir, 'plain-server'),
        plainPortBase: options.plainPortBase,
      }),
    );
    const tree = await step('propagation', () =>
      measurePropagation(config, {
        fanout: sizes.treeFanout,
        depth: sizes.treeDepth,
        signalConcurrency: sizes.signalConcurrency,
        rotations: sizes.rotations,
        burstRotations: sizes.burstRotations,
        bundlePath,
        timeoutMs: sizes.waitTimeoutMs,
      }),
    );
    results.propagation = tree?.propagation;
    results.workerMemory = tree?.workerMemory;
    results.authorizerCost = await step('authorizerCost', () =>
      measureAuthorizerCost(config, {
        root: options.root,
        stateDir: join(workDir, 'default-authorizer'),
        portBase: options.defaultAuthorizerPortBase,
        bundlePath,
        workflows: sizes.authorizerWorkflows,
        rounds: sizes.throughputRounds,
        concurrency: sizes.throughputConcurrency,
        calls: sizes.authorizerCalls,
      }),
    );
    const scaling = await step('treeScaling', () =>
      measureTreeScaling(config, {
        fanout: sizes.treeFanout,
        depths: sizes.scalingDepths,
        bundlePath,
        timeoutMs: sizes.waitTimeoutMs,
      }),
    );
    results.treeScaling = scaling?.points;
    if (scaling?.failure) {
      const { workflows, error } = scaling.failure;
      results.errors.treeScaling = `${workflows} workflows: ${error}`;
      log(`treeScaling stopped at ${workflows} workflows: ${error}`);
    }
  }
  results.durationS = round((Date.now() - started) / 1000);
  return results;
}
