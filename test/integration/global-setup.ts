import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { devUpReporter } from '../../src/cli/progress.js';
import type { DevConfig } from '../../src/devstack/dev-config.js';
import { devDown, devUp } from '../../src/devstack/dev-stack.js';
import { portBaseFromEnv } from '../support/ports.js';
import { testHomeFromEnv } from '../support/test-home.js';

declare module 'vitest' {
  export interface ProvidedContext {
    devConfig: DevConfig;
    devRoot: string;
    /** TOKENRELAY_TEST_PORT_BASE: every port a test listens on derives from it (test/support/ports.ts). */
    portBase: number;
  }
}

/**
 * Brings up a dedicated stack for the suite (own state folder and ports, so a stack you started by
 * hand is neither needed nor touched), from scratch every run, and stops it afterwards.
 */
export default async function setup(project: TestProject) {
  const root = testHomeFromEnv();
  const portBase = portBaseFromEnv();
  const started = Date.now();
  const { config } = await devUp({
    root,
    reset: true,
    portBase,
    // Key rotation waits for the verifier's JWKS refresh; 3 s keeps the rotation test short.
    jwksRefreshSeconds: 3,
    // Long-running workflows are asked to continue-as-new after 120 events, so tests see it happen.
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 120 },
    onStep: devUpReporter(),
  });
  process.stderr.write(`[dev up] test stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  project.provide('devConfig', config);
  project.provide('devRoot', root);
  project.provide('portBase', portBase);
  return async () => {
    await devDown({ root });
  };
}
