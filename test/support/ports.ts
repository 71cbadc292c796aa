// Every port the test suite listens on derives from one base, TOKENRELAY_TEST_PORT_BASE (default
// 27200; the integration global setup `provide`s it), so two checkouts' suites can run side by side on
// one machine with different bases. Ports nobody else needs to know are port 0 instead.
import { inject } from 'vitest';

export const DEFAULT_TEST_PORT_BASE = 27200;

/**
 * Offsets from the base. A dev stack's port plan spans base … base + 181 (src/devstack/ports.ts), so
 * stacks sit 200 or more apart.
 */
export const TEST_PORT_OFFSETS = {
  /** The shared stack the global setup brings up. */
  stack: 0,
  /** The benchmark's plain Temporal server (test/bench), a port plan of its own. */
  benchPlain: 400,
  /** The benchmark's second secured server, on Temporal's default authorizer. */
  benchDefaultAuthorizer: 600,
  /** dev-stack-lifecycle.test.ts's second stack. */
  devStackLifecycle: 1000,
  /** cli.test.ts's own stack, driven through `tokenrelay dev up`. */
  cli: 2000,
  /** hostile-requests.test.ts's separate issuer (+0) and its HTTPS pair (+1, +2). */
  hostileIssuer: 2200,
} as const;

/** The highest offset in use plus room for a port plan: what the base must leave below 65 535. */
export const TEST_PORT_SPAN = 2400;

/** The suite's port base, from the environment (global setup) or as provided to a test file. */
export function testPortBase(): number {
  return inject('portBase');
}

/** The first port of `part`'s range. */
export function testPort(part: keyof typeof TEST_PORT_OFFSETS): number {
  return testPortBase() + TEST_PORT_OFFSETS[part];
}

/** Reads and checks TOKENRELAY_TEST_PORT_BASE; for the global setup. */
export function portBaseFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const base = Number(env.TOKENRELAY_TEST_PORT_BASE ?? DEFAULT_TEST_PORT_BASE);
  if (!Number.isInteger(base) || base < 1024 || base + TEST_PORT_SPAN > 65_535) {
    throw new Error(
      `TOKENRELAY_TEST_PORT_BASE must be an integer from 1024 to ${65_535 - TEST_PORT_SPAN}, got ${env.TOKENRELAY_TEST_PORT_BASE}`,
    );
  }
  return base;
}
