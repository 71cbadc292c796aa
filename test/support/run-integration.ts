// `npm run test:integration`: the integration suite in shards that run side by side, each vitest
// process with a stack of its own (state folder and ports), so no shard can see another's workflows,
// issuer outages or signing-key rotations. Most integration time is waiting (token lifetimes, outages,
// a worker core giving up), which overlaps well even on two cores.
//
//   npm run test:integration                      # TOKENRELAY_TEST_SHARDS shards (default: cores + 1, ≤ 4)
//   npm run test:integration -- test/integration/cli.test.ts   # named files: one vitest, one stack
//
// Shard i uses TOKENRELAY_TEST_HOME/shard-i and ports from TOKENRELAY_TEST_PORT_BASE + (i-1) × span.
// A shard runs while it holds one of the machine's TOKENRELAY_TEST_MACHINE_SLOTS (default: as many as
// the default shards), shared with every other checkout's suite on the machine.
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { devUpReporter } from '../../src/cli/progress.js';
import { devDown } from '../../src/devstack/dev-stack.js';
import { ephemeralPortRange, type PortRange } from '../../src/devstack/ports.js';
import {
  type BuildOptions,
  ensureTemporalCli,
  ensureTokenrelayServer,
  TEMPORAL_CLI_VERSION,
} from '../../src/devstack/temporal-install.js';
import { buildCli, CLI_BUILD_ENV, removeCliBuild } from './cli-build.js';
import { acquireSlot } from './machine-slots.js';
import { portBaseFromEnv, TEST_PORT_SPAN } from './ports.js';
import { testHomeFromEnv } from './test-home.js';

/**
 * One shard more than there are cores, at most four. A shard is not quite a core's worth of work: its
 * long files mostly wait (a 2-minute stream on 10-second tokens, outages until the worker's core gives
 * up, token expiries), and the extra shard fills those waits. Measured on 2 cores: 3 shards took 680 s
 * with the cores 92% busy; 2 shards (before the CLI and bundle savings) 886 s at 80%.
 */
export function defaultShards(cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(4, cores + 1));
}

export interface ShardPlan {
  index: number;
  count: number;
  home: string;
  portBase: number;
}

/** Where and on which ports each shard's stack lives; throws a message naming the variable to fix. */
export function planShards(
  env: NodeJS.ProcessEnv = process.env,
  ephemeral: PortRange = ephemeralPortRange(),
): ShardPlan[] {
  const count = Number(env.TOKENRELAY_TEST_SHARDS ?? defaultShards());
  if (!Number.isInteger(count) || count < 1 || count > 8) {
    throw new Error(
      `TOKENRELAY_TEST_SHARDS must be a whole number from 1 to 8, got ${env.TOKENRELAY_TEST_SHARDS}`,
    );
  }
  const base = portBaseFromEnv(env, count, ephemeral);
  const home = testHomeFromEnv(env);
  return Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    count,
    home: count === 1 ? home : resolve(home, `shard-${i + 1}`),
    portBase: base + i * TEST_PORT_SPAN,
  }));
}

/** The numbers from vitest's closing "Test Files" and "Tests" lines, for the combined summary. */
export function summaryLine(line: string): { kind: 'files' | 'tests'; text: string } | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: vitest colours its summary when forced to.
  const plain = line.replace(/\x1b\[[0-9;]*m/g, '').trim();
  const match = /^(Test Files|Tests)\s+(.*)$/.exec(plain);
  if (!match) return undefined;
  return { kind: match[1] === 'Tests' ? 'tests' : 'files', text: match[2]! };
}

/** vitest's CLI script, run with this Node (no npx, no shell in between to lose signals). */
function vitestBin(): string {
  const manifest = createRequire(import.meta.url).resolve('vitest/package.json');
  return join(dirname(manifest), 'vitest.mjs');
}

function runShard(plan: ShardPlan, extraArgs: string[], children: Set<ChildProcess>, env: NodeJS.ProcessEnv) {
  const args = [vitestBin(), 'run', '--project', 'integration', ...extraArgs];
  if (plan.count > 1) args.push('--shard', `${plan.index}/${plan.count}`);
  const child = spawn(process.execPath, args, {
    env: {
      ...env,
      TOKENRELAY_TEST_HOME: plan.home,
      TOKENRELAY_TEST_PORT_BASE: String(plan.portBase),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const prefix = plan.count > 1 ? `[${plan.index}/${plan.count}] ` : '';
  const summary: string[] = [];
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    createInterface({ input: stream }).on('line', (line) => {
      out.write(`${prefix}${line}\n`);
      const found = summaryLine(line);
      if (found) summary.push(`${found.kind === 'files' ? 'test files' : 'tests'} ${found.text}`);
    });
  }
  const started = Date.now();
  return new Promise<{ plan: ShardPlan; code: number; seconds: number; summary: string[] }>((done) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      done({ plan, code: code ?? (signal ? 1 : 0), seconds: (Date.now() - started) / 1000, summary });
    });
  });
}

async function main(argv: string[]) {
  const named = argv.filter((a) => !a.startsWith('-'));
  // Named files are a developer narrowing the run: one vitest, one stack, as before shards existed.
  const plans = named.length > 0 ? planShards({ ...process.env, TOKENRELAY_TEST_SHARDS: '1' }) : planShards();
  // Build the server and compile the CLI once here; shards starting together would each do it.
  const report = devUpReporter();
  const [cliBuild, , temporalCli] = await Promise.all([
    buildCli(`test-cli-${process.pid}`),
    ensureTokenrelayServer({
      onBuildStart: () => report({ step: 'build' }),
      onProgress: (progress) => report({ step: 'build', progress }),
    }),
    // The official CLI some tests drive as users do; a build of its own, once per machine.
    ensureTemporalCli(temporalCliProgress()),
  ]);
  try {
    process.exitCode = await runShards(plans, argv, {
      ...process.env,
      [CLI_BUILD_ENV]: cliBuild,
      TOKENRELAY_TEMPORAL_CLI: temporalCli,
    });
  } finally {
    await removeCliBuild(cliBuild);
  }
}

/** One line when the temporal CLI build starts, then one every 15 s, so a cold machine shows progress. */
function temporalCliProgress(): BuildOptions {
  let last = 0;
  return {
    onBuildStart: () =>
      process.stderr.write(
        `[temporal CLI] building ${TEMPORAL_CLI_VERSION} for the tests (once per machine)…\n`,
      ),
    onProgress: ({ steps, elapsedMs, current }) => {
      if (elapsedMs - last < 15_000) return;
      last = elapsedMs;
      process.stderr.write(`[temporal CLI] ${Math.round(elapsedMs / 1000)} s, ${steps} steps: ${current}\n`);
    },
  };
}

async function runShards(plans: ShardPlan[], argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const children = new Set<ChildProcess>();
  const interrupted = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Pass the signal on to running shards and stop waiting for slots; the stacks are stopped below.
    process.on(signal, () => {
      interrupted.abort(new Error(`interrupted by ${signal}`));
      for (const child of children) child.kill(signal);
    });
  }
  const started = Date.now();
  // Shards of every checkout on this machine share one slot per core (test/support/machine-slots.ts).
  const slots = Number(process.env.TOKENRELAY_TEST_MACHINE_SLOTS ?? defaultShards());
  if (!Number.isInteger(slots) || slots < 1) {
    throw new Error(
      `TOKENRELAY_TEST_MACHINE_SLOTS must be a whole number of at least 1, got ${process.env.TOKENRELAY_TEST_MACHINE_SLOTS}`,
    );
  }
  const results = await Promise.all(
    plans.map(async (plan) => {
      let release: () => Promise<void>;
      try {
        release = await acquireSlot({
          count: slots,
          signal: interrupted.signal,
          onWait: () =>
            process.stderr.write(
              `[${plan.index}/${plan.count}] waiting for a free test slot: another suite is running on this machine\n`,
            ),
        });
      } catch (err) {
        if (!interrupted.signal.aborted) throw err;
        // Interrupted while waiting: this shard never ran.
        return { plan, code: 130, seconds: 0, summary: ['not started (interrupted)'] };
      }
      try {
        return await runShard(plan, argv, children, env);
      } finally {
        await release();
      }
    }),
  );
  // An interrupted vitest exits without its global teardown, which would leave the shard's stack
  // running; stopping a stack that already stopped is a no-op.
  await Promise.all(plans.map((plan) => devDown({ root: plan.home }).catch(() => undefined)));
  if (plans.length > 1) {
    process.stdout.write(`\nIntegration shards (${((Date.now() - started) / 1000).toFixed(0)} s in all):\n`);
    for (const r of results) {
      const status = r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`;
      process.stdout.write(
        `  shard ${r.plan.index}/${r.plan.count} ${status} in ${r.seconds.toFixed(0)} s: ${r.summary.join('; ')}\n`,
      );
    }
  }
  return results.some((r) => r.code !== 0) ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
