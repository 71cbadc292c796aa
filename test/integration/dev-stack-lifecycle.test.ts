import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { isAlive, runningPid } from '../../src/devstack/daemon.js';
import { devDown, devStatus, devUp } from '../../src/devstack/dev-stack.js';
import { devLayout } from '../../src/devstack/layout.js';
import { testPort, testPortBase } from '../support/ports.js';

// A port plan of its own, apart from the shared test stack's (test/support/ports.ts).
const PORT_BASE = testPort('devStackLifecycle');
let root: string | undefined;

afterEach(async () => {
  delete process.env.TOKENRELAY_TEMPORAL_SERVER;
  if (root) {
    await devDown({ root });
    await rm(root, { recursive: true, force: true });
    root = undefined;
  }
});

describe('dev up / dev down', () => {
  it('reuses the running stack instead of starting a second one', async () => {
    const before = await devStatus({ root: inject('devRoot') });
    const again = await devUp({ root: inject('devRoot'), portBase: testPortBase() });
    expect(again.reused).toBe(true);
    expect(await devStatus({ root: inject('devRoot') })).toEqual(before);
  });

  it('reports a server that exits during start-up with the tail of its log, and leaves no process', async () => {
    root = await mkdtemp(join(tmpdir(), 'devstack-fail-'));
    const fake = join(root, 'fake-temporal');
    await writeFile(fake, '#!/bin/sh\necho "config error: something the user must see" >&2\nexit 1\n');
    await chmod(fake, 0o755);
    process.env.TOKENRELAY_TEMPORAL_SERVER = fake;
    const attempt = devUp({ root, portBase: PORT_BASE });
    await expect(attempt).rejects.toMatchObject({
      code: 'devstack.start_failed',
      message: expect.stringContaining('config error: something the user must see'),
    });
    const layout = devLayout(root);
    const issuerPid = await runningPid(layout.issuerPidPath);
    const demoApiPid = await runningPid(layout.demoApiPidPath);
    expect(issuerPid).toBeDefined();
    expect(demoApiPid).toBeDefined();
    await devDown({ root });
    expect(isAlive(issuerPid as number)).toBe(false);
    expect(isAlive(demoApiPid as number)).toBe(false);
    expect(await devStatus({ root })).toMatchObject({
      issuer: { running: false },
      demoApi: { running: false },
      temporal: { running: false },
    });
  });

  it('names a taken port, its role and the way out', async () => {
    root = await mkdtemp(join(tmpdir(), 'devstack-port-'));
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(PORT_BASE + 33, '127.0.0.1', resolve));
    try {
      await expect(devUp({ root, portBase: PORT_BASE })).rejects.toMatchObject({
        code: 'devstack.port_in_use',
        message: expect.stringMatching(
          new RegExp(`port ${PORT_BASE + 33} \\(Temporal frontend gRPC\\).*TOKENRELAY_PORT_BASE`),
        ),
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
