// Every port the test suite listens on derives from one base, TOKENRELAY_TEST_PORT_BASE (default
// 20000; the integration global setup `provide`s it), so two checkouts' suites can run side by side on
// one machine with different bases. Ports nobody else needs to know are port 0 instead. Every fixed
// port stays below the kernel's ephemeral range, where a client connection could be holding it.
import { inject } from 'vitest';
import { ephemeralPortRange, overlapsEphemeral } from '../../src/devstack/ports.js';

/** Three default shards take 20000 … 23599; a second checkout fits at 24000 and a third at 28000. */
export const DEFAULT_TEST_PORT_BASE = 20000;

/**
 * Offsets from the base. A dev stack's port plan spans base … base + 181 (src/devstack/ports.ts), so
 * stacks sit 200 or more apart.
 */
export const TEST_PORT_OFFSETS = {
  /** The shared stack the global setup brings up. */
  stack: 0,
  /** The benchmark's plain Temporal server (test/bench), a port plan of its own. */
  benchPlain: 200,
  /** The benchmark's second secured server, on Temporal's default authorizer. */
  benchDefaultAuthorizer: 400,
  /** dev-stack-lifecycle.test.ts's second stack. */
  devStackLifecycle: 600,
  /** cli.test.ts's own stack, driven through `tokenrelay dev up`. */
  cli: 800,
  /** hostile-requests.test.ts's separate issuer (+0) and its HTTPS pair (+1, +2). */
  hostileIssuer: 1000,
} as const;

/** The highest offset in use plus room for a port plan: the ports one stack of the suite takes. */
export const TEST_PORT_SPAN = 1200;

/** The suite's port base, from the environment (global setup) or as provided to a test file. */
export function testPortBase(): number {
  return inject('portBase');
}

/** The first port of `part`'s range. */
export function testPort(part: keyof typeof TEST_PORT_OFFSETS): number {
  return testPortBase() + TEST_PORT_OFFSETS[part];
}

/**
 * Reads and checks TOKENRELAY_TEST_PORT_BASE for `stacks` stacks side by side (the global setup: one;
 * the shard runner: one per shard): an integer from 1024 whose ports all lie below the ephemeral range.
 */
export function portBaseFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  stacks = 1,
  ephemeral = ephemeralPortRange(),
): number {
  const base = Number(env.TOKENRELAY_TEST_PORT_BASE ?? DEFAULT_TEST_PORT_BASE);
  const highest = ephemeral.low - stacks * TEST_PORT_SPAN;
  if (
    !Number.isInteger(base) ||
    base < 1024 ||
    overlapsEphemeral({ low: base, high: base + stacks * TEST_PORT_SPAN - 1 }, ephemeral)
  ) {
    throw new Error(
      `TOKENRELAY_TEST_PORT_BASE must be an integer from 1024 to ${highest}, got ` +
        `${env.TOKENRELAY_TEST_PORT_BASE}: ${stacks} stack(s) take ${TEST_PORT_SPAN} ports each, and every ` +
        `one must lie below ${ephemeral.low}, where this machine's kernel picks client connections' ` +
        'source ports (one of those can hold a port a stack then fails to bind)',
    );
  }
  return base;
}
