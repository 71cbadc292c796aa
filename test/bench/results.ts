// The shape of a benchmark run and its Markdown rendering.
import type { AuthorizerCostResult } from './authorizer-cost.js';
import type { HotPathResult } from './hot-path.js';
import type { IssuerLoadResult } from './issuer-load.js';
import type { PropagationResult, WorkerMemoryResult } from './propagation.js';
import type { RefreshContentionResult } from './refresh-contention.js';
import { round } from './stats.js';
import type { TreeScalingPoint } from './tree-scaling.js';
import type { ThroughputResult } from './worker-throughput.js';

export interface BenchSizes {
  hotPathCalls: number;
  loopbackCalls: number;
  rounds: number;
  contentionCallers: number;
  throughputWorkflows: number;
  throughputRounds: number;
  throughputWarmup: number;
  throughputConcurrency: number;
  issuerConcurrency: number;
  issuerDurationMs: number;
  issuerWarmup: number;
  treeFanout: number;
  treeDepth: number;
  /** Depths of the trees (same fanout) one rotation is timed through, to show how time grows with size. */
  scalingDepths: number[];
  burstRotations: number;
  authorizerWorkflows: number;
  authorizerCalls: number;
  signalConcurrency: number;
  rotations: number;
  waitTimeoutMs: number;
}

export interface BenchResults {
  mode: 'quick' | 'full';
  startedAt: string;
  durationS: number;
  machine: { cpus: number; cpuModel: string; node: string; loadAverage1m: number };
  sizes: BenchSizes;
  hotPath?: HotPathResult;
  refreshContention?: RefreshContentionResult;
  workerThroughput?: ThroughputResult;
  propagation?: PropagationResult;
  treeScaling?: TreeScalingPoint[];
  authorizerCost?: AuthorizerCostResult;
  issuer?: IssuerLoadResult;
  workerMemory?: WorkerMemoryResult;
  /** Measurements that failed, by name, with their error. */
  errors: Partial<Record<MeasurementName, string>>;
}

export type MeasurementName =
  | 'hotPath'
  | 'refreshContention'
  | 'issuer'
  | 'bundle'
  | 'workerThroughput'
  | 'propagation'
  | 'treeScaling'
  | 'authorizerCost';

type Row = [measurement: string, result: string, reference: string, ratio: string];

const n = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (value: number) => (value >= 10_000 ? `${n(value / 1000, 1)} s` : `${n(value)} ms`);
const x = (value: number) => `${n(value, 2)}×`;
const signed = (value: number) => (value < 0 ? `−${n(-value)}` : `+${n(value)}`);

/** A Markdown table of the run: one row per figure, the result next to what it is measured against. */
export function renderMarkdown(r: BenchResults): string {
  const rows: Row[] = [];
  const failed = (name: MeasurementName, what: string) => {
    const error = r.errors[name];
    if (error) rows.push([what, `failed: ${error.replaceAll('|', '/').replaceAll('\n', ' ')}`, '', '']);
  };

  const h = r.hotPath;
  if (h) {
    for (const [label, v, unit] of [
      ['interceptor chain', h.chain, 'ns'],
      ['loopback unary call', h.loopback, 'µs'],
    ] as const) {
      const per = (ns: number) => (unit === 'ns' ? `${n(ns)} ns/op` : `${n(ns / 1000, 1)} µs/op`);
      rows.push([
        `1 Hot path, ${label} (${n(v.calls)} calls)`,
        `with token: ${per(v.authNsPerOp)} (${signed(v.addedNsPerOp)} ns); same header without tokenrelay: ${per(v.headerOnlyNsPerOp)}`,
        `retry interceptor only: ${per(v.baselineNsPerOp)}`,
        x(v.ratio),
      ]);
    }
    rows.push(['1 Token-endpoint requests during those calls', n(h.tokenRequests), '0 expected', '']);
  } else failed('hotPath', '1 Hot path');

  const c = r.refreshContention;
  if (c) {
    rows.push([
      `2 ${n(c.callers)} concurrent get() at expiry`,
      `${n(c.fetches)} fetch(es); wait p50 ${n(c.p50Ms, 1)} ms, p99 ${n(c.p99Ms, 1)} ms`,
      '1 fetch expected',
      '',
    ]);
  } else failed('refreshContention', '2 Refresh contention');

  const t = r.workerThroughput;
  if (t) {
    rows.push([
      '3 Worker throughput (workflows/s, 1 activity each)',
      `mTLS + JWT: ${n(t.secured.perSecond, 1)}/s`,
      `same server, no TLS/auth: ${n(t.plain.perSecond, 1)}/s`,
      x(t.ratio),
    ]);
  } else failed(r.errors.bundle ? 'bundle' : 'workerThroughput', '3 Worker throughput');

  const p = r.propagation;
  if (p) {
    const tree = p.levels.map((l) => n(l)).join(' + ');
    rows.push([
      `4 Rotation through a tree of ${tree}`,
      `${ms(p.tree.settledMs)} (${n(p.tree.reached)}/${n(p.workflows)} reached)`,
      `client signals ${n(p.workflows)} ids itself: ${ms(p.direct.settledMs)}`,
      x(p.ratioToDirect),
    ]);
    rows.push([
      '4 … the same tree handing down by workflow signal (no relay)',
      `${ms(p.treeBySignal.settledMs)} (${n(p.treeBySignal.reached)}/${n(p.workflows)} reached)`,
      `client signals ${n(p.workflows)} ids itself: ${ms(p.direct.settledMs)}`,
      x(p.ratioBySignalToDirect),
    ]);
    rows.push([
      '4 … against the server’s raw signal rate',
      `${ms(p.tree.settledMs)}`,
      `${n(p.workflows)} signals at ${n(p.rawSignal.perSecond)}/s: ${ms(p.limitMs)}`,
      x(p.ratioToLimit),
    ]);
    rows.push([
      '4 History events per workflow per rotation',
      `tree: ${n(p.tree.eventsPerWorkflow, 2)}`,
      `direct: ${n(p.direct.eventsPerWorkflow, 2)}`,
      '',
    ]);
    rows.push([
      '4 Server workflow-state writes per workflow per rotation',
      `tree: ${n(p.tree.writesPerWorkflow, 2)} (by workflow signal: ${n(p.treeBySignal.writesPerWorkflow, 2)})`,
      `direct: ${n(p.direct.writesPerWorkflow, 2)}`,
      x(round(p.tree.writesPerWorkflow / p.direct.writesPerWorkflow, 2)),
    ]);
    rows.push([
      '4 … until every parent counted its children confirmed (update replies, delivered signals)',
      `${ms(p.tree.confirmedMs)} (observed)`,
      `held by all (observed): ${ms(p.tree.observedMs)}`,
      x(round(p.tree.confirmedMs / p.tree.observedMs, 2)),
    ]);
    rows.push([
      `4 Burst: ${p.burst.rotations} rotations back to back`,
      `${ms(p.burst.settledMs)} until all hold the last`,
      `one rotation: ${ms(p.tree.settledMs)}`,
      x(p.burst.ratioToOne),
    ]);
  } else failed(r.errors.bundle ? 'bundle' : 'propagation', '4 Propagation');

  const first = r.treeScaling?.[0];
  for (const point of r.treeScaling ?? []) {
    rows.push([
      `4 Scaling: one rotation through ${n(point.workflows)} workflows`,
      `${ms(point.settledMs)} (${n(point.msPer1000)} ms per 1,000; confirmed ${ms(point.confirmedMs)}; ${n(point.writesPerWorkflow, 2)} writes per workflow)`,
      first && first !== point ? `${n(first.workflows)} workflows: ${ms(first.settledMs)}` : 'smallest tree',
      first && first !== point ? x(round(point.settledMs / first.settledMs, 2)) : '',
    ]);
  }
  if (r.errors.treeScaling) failed('treeScaling', '4 Scaling');

  const i = r.issuer;
  if (i) {
    rows.push([
      `5 Issuer at concurrency ${i.concurrency}, keep-alive`,
      `${n(i.tokensPerSecond)} tokens/s; p50 ${n(i.p50Ms, 1)} ms, p99 ${n(i.p99Ms, 1)} ms${i.failures ? `; ${i.failures} failed` : ''}`,
      `jose ES256 signing: ${n(i.joseSignsPerSecond)}/s`,
      x(i.ratio),
    ]);
  } else failed('issuer', '5 Issuer');

  const m = r.workerMemory;
  if (m) {
    rows.push([
      `6 Worker RSS holding ${n(m.workflows)} workflows`,
      `${n(m.treeMiB, 1)} MiB (${n(m.perWorkflowKiB)} KiB/workflow)`,
      `idle: ${n(m.idleMiB, 1)} MiB`,
      '',
    ]);
  }
  if (i) {
    rows.push([
      '6 Issuer RSS under the load of 5',
      `peak ${n(i.rss.peakMiB, 1)} MiB`,
      `idle: ${n(i.rss.idleMiB, 1)} MiB`,
      '',
    ]);
  }

  const a = r.authorizerCost;
  if (a) {
    rows.push([
      '7 Worker throughput, tokenrelay authorizer',
      `${n(a.tokenrelay.workflowsPerSecond, 1)}/s`,
      `Temporal's default authorizer: ${n(a.default.workflowsPerSecond, 1)}/s`,
      x(a.throughputRatio),
    ]);
    rows.push([
      '7 One authorized call (DescribeNamespace), p50 / p99',
      `${n(a.tokenrelay.callP50Ms, 2)} / ${n(a.tokenrelay.callP99Ms, 2)} ms`,
      `default: ${n(a.default.callP50Ms, 2)} / ${n(a.default.callP99Ms, 2)} ms`,
      x(a.latencyRatio),
    ]);
  } else failed(r.errors.bundle ? 'bundle' : 'authorizerCost', '7 Authorizer');

  const header = [
    `Benchmark (${r.mode}), ${r.startedAt}: ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, ` +
      `load ${r.machine.loadAverage1m} at start, ${n(r.durationS)} s.`,
    '',
    '| Measurement | Result | Reference | Ratio |',
    '| --- | --- | --- | --- |',
  ];
  return `${[...header, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')}\n`;
}
