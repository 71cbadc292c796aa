// `npm run bench [-- --quick]`: brings up (or reuses) a benchmark dev stack of its own, runs every
// measurement, and writes bench-results/latest.json and latest.md (latest-quick.* in quick mode).
//
// Options: --quick  small sizes, same code paths (what CI runs)
//          --keep   leave a stack this run started running afterwards (the next run reuses it)
//          --reset  start the stack from scratch even if one is running
//          --out <dir>  default bench-results
//          --only <a,b>  only these measurements (hotPath, refreshContention, issuer, workerThroughput,
//                        propagation, authorizerCost, treeScaling, issuerTransports); the table shows those rows
// Environment: TOKENRELAY_BENCH_HOME (default .tokenrelay/bench-stack), TOKENRELAY_BENCH_PORT_BASE
// (default 15000), TOKENRELAY_BENCH_PLAIN_PORT_BASE (the plain reference server's ports are this
// + 33 … + 90; default the stack's base + 400).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { devDown, devUp } from '../../src/devstack/dev-stack.js';
import { ephemeralPortRange, overlapsEphemeral } from '../../src/devstack/ports.js';
import { fullSizes, quickSizes, runBench } from './bench.js';
import { BenchError, errorText } from './errors.js';
import {
  type IssuerTransportResult,
  measureIssuerTransports,
  renderIssuerTransports,
} from './issuer-load.js';
import { renderMarkdown } from './results.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    reset: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results' },
    only: { type: 'string' },
  },
});
const root = resolve(process.env.TOKENRELAY_BENCH_HOME ?? '.tokenrelay/bench-stack');
const portBase = Number(process.env.TOKENRELAY_BENCH_PORT_BASE ?? 15000);
const plainPortBase = Number(process.env.TOKENRELAY_BENCH_PLAIN_PORT_BASE ?? portBase + 400);
// The second secured server of measurement 7 takes a whole dev port plan (base … base + 183).
const defaultAuthorizerPortBase = portBase + 600;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
// Fixed ports inside the kernel's ephemeral range can be held by any client connection of the moment.
const ephemeral = ephemeralPortRange();
if (
  overlapsEphemeral(
    { low: Math.min(portBase, plainPortBase), high: defaultAuthorizerPortBase + 199 },
    ephemeral,
  )
) {
  throw new BenchError(
    'bench.ports',
    `the bench's ports (${portBase} … ${defaultAuthorizerPortBase + 199}) reach into ${ephemeral.low} … ` +
      `${ephemeral.high}, where this machine picks client connections' source ports; set ` +
      'TOKENRELAY_BENCH_PORT_BASE (and TOKENRELAY_BENCH_PLAIN_PORT_BASE) lower',
  );
}

log(`dev stack at ${root}, port base ${portBase}`);
const { config, reused } = await devUp({ root, portBase, reset: args.reset });
log(reused ? 'reusing the running bench stack' : 'bench stack started');
try {
  const results = await runBench({
    config,
    root,
    quick: args.quick,
    plainPortBase,
    defaultAuthorizerPortBase,
    log,
    ...(args.only ? { only: new Set(args.only.split(',')) } : {}),
  });
  // The issuer over HTTPS next to plain HTTP, in this same run (issue 14): its own step, after the six.
  const sizes = args.quick ? quickSizes : fullSizes;
  let issuerTransports: IssuerTransportResult | undefined;
  let transportError: string | undefined;
  const measureTransports = !args.only || args.only.split(',').includes('issuerTransports');
  if (measureTransports) log('issuerTransports…');
  try {
    if (measureTransports)
      issuerTransports = await measureIssuerTransports(config, {
        concurrency: sizes.issuerConcurrency,
        durationMs: sizes.issuerDurationMs,
        rounds: args.quick ? 2 : 4,
        warmupRequests: sizes.issuerWarmup,
        freshConnectionRequests: args.quick ? 100 : 1_000,
      });
    if (issuerTransports)
      log(
        `issuerTransports done: HTTPS ${issuerTransports.https.keepAlive.tokensPerSecond} tokens/s, HTTP ${issuerTransports.http.keepAlive.tokensPerSecond} tokens/s`,
      );
  } catch (err) {
    transportError = errorText(err);
    log(`issuerTransports failed: ${transportError}`);
  }
  const markdown =
    renderMarkdown(results) +
    (issuerTransports
      ? renderIssuerTransports(issuerTransports)
      : transportError
        ? `\nIssuer over HTTPS next to HTTP: failed (${transportError})\n`
        : '');
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  const name = args.only ? 'latest-partial' : args.quick ? 'latest-quick' : 'latest';
  const json = {
    ...results,
    ...(issuerTransports ? { issuerTransports } : {}),
    errors: { ...results.errors, ...(transportError ? { issuerTransports: transportError } : {}) },
  };
  await writeFile(join(out, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(out, `${name}.md`), markdown);
  process.stdout.write(markdown);
  log(`wrote ${join(out, `${name}.json`)} and ${name}.md`);
  if (Object.keys(json.errors).length > 0) process.exitCode = 1;
} finally {
  if (!reused && !args.keep) await devDown({ root });
}
