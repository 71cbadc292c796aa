import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuthRejectedEvent } from '../../src/index.js';
import {
  createTestApp,
  devConfig,
  installCountingRuntime,
  refreshingTokenFor,
  serverAuthRefusals,
  serverMetricsCaughtUp,
} from '../support/stack.js';
import { connectTestClient, referenceWorkflowBundle, startTestWorker } from '../support/temporal.js';
import { sleep } from '../support/wait.js';

const config = devConfig();
const STREAM_MS = 120_000;
/**
 * Callers starting workflows one after another. Two keep calls in flight at every token refresh; four
 * made the run ~1,150 workflows instead of ~790 (back to back, before the pause below) and took CPU
 * from the shards beside it, for no extra coverage. With the pause, two run 400-500 workflows.
 */
const CALLERS = 2;
/**
 * Each caller's pause between workflows. The calls only need to be in flight around every refresh,
 * not as many as the machine can take: back to back, the stream was one of the suite's biggest CPU
 * users, taken from the shards running beside it.
 */
const PAUSE_MS = 250;

describe('a worker and a client on 10-second tokens', () => {
  let runtime: Awaited<ReturnType<typeof installCountingRuntime>>;

  beforeAll(async () => {
    runtime = await installCountingRuntime();
    await referenceWorkflowBundle();
  });

  it('process a continuous stream of workflows for 2 minutes with zero authorization failures on either side', async () => {
    const app = await createTestApp({ tokenLifetimeSeconds: 10 });
    const workerToken = refreshingTokenFor(config, app);
    const clientToken = refreshingTokenFor(config, app);
    let workerRefreshes = 0;
    workerToken.on('refreshed', () => {
      workerRefreshes += 1;
    });
    const rejected: AuthRejectedEvent[] = [];
    const { supervised, taskQueue } = await startTestWorker(config, {
      token: workerToken,
      taskQueue: `stream-${randomUUID()}`,
    });
    const { connection, client } = await connectTestClient(config, {
      token: clientToken,
      onAuthRejected: (event) => rejected.push(event),
    });
    try {
      const serverRefusedBefore = await serverAuthRefusals(config);
      const workerRefusedBefore = runtime.authFailures();
      const requestsBefore = await runtime.requests();
      const deadline = Date.now() + STREAM_MS;
      const failures: string[] = [];
      let completed = 0;
      await Promise.all(
        Array.from({ length: CALLERS }, async () => {
          while (Date.now() < deadline) {
            const id = `stream-${randomUUID()}`;
            try {
              await client.workflow.execute('smokeWorkflow', { taskQueue, workflowId: id, args: [id] });
              completed += 1;
            } catch (err) {
              failures.push((err as Error).message);
            }
            await sleep(PAUSE_MS);
          }
        }),
      );
      const lifetimeS = (() => {
        const claims = decodeJwt(workerToken.current() ?? '');
        return (claims.exp ?? 0) - (claims.iat ?? 0);
      })();
      process.stderr.write(
        `[stream] ${completed} workflows in ${STREAM_MS / 1000}s, ${workerRefreshes} worker token refreshes\n`,
      );
      expect(lifetimeS).toBe(10);
      expect(failures).toEqual([]);
      expect(rejected).toEqual([]);
      expect(runtime.authFailures()).toBe(workerRefusedBefore);
      await serverMetricsCaughtUp(config);
      expect(await serverAuthRefusals(config)).toBe(serverRefusedBefore);
      expect(await runtime.requests()).toBeGreaterThan(requestsBefore);
      expect(supervised.restarts).toBe(0);
      // The tokens really did turn over many times during the run: ~120 s / 7.5 s.
      expect(workerRefreshes).toBeGreaterThanOrEqual(12);
      expect(completed).toBeGreaterThan(50);
    } finally {
      await connection.close();
      await supervised.shutdown();
      workerToken.stop();
      clientToken.stop();
    }
  }, 240_000);
});
