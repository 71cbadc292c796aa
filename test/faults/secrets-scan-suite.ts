// The closing test of every fault and hostile-input file: vitest runs files in an order of its own, so
// each file ends by scanning for every secret any file recorded so far, and whichever runs last has
// scanned everything the suite issued.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { DevConfig } from '../../src/devstack/dev-config.js';
import { devTls, devToken } from '../../src/devstack/dev-config.js';
import { connectClient } from '../../src/temporal/connect.js';
import { loadRegistry, printTable, recordTokensOf, scanForSecrets, stackLogFiles } from './helpers.js';

/** Files under `<root>/faults-captured/`: CLI and child-process output the suites saved. */
async function capturedFiles(root: string): Promise<string[]> {
  const dir = join(root, 'faults-captured');
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.map((n) => join(dir, n));
}

export function describeSecretsScan(config: DevConfig, root: string): void {
  describe('the secrets scan after this file', () => {
    it('finds no token or secret the suite issued in any log, captured output or raw history', async () => {
      const token = devToken(config, 'developer');
      recordTokensOf(token, 'secrets-scan client token');
      const connection = await connectClient({
        address: config.temporal.address,
        tls: devTls(config),
        token,
      });
      try {
        const { secrets, workflowIds } = await loadRegistry(root);
        for (const [name, app] of Object.entries(config.apps))
          secrets.set(app.clientSecret, `dev app ${name} secret`);
        const files = [...stackLogFiles(root), ...(await capturedFiles(root))];
        const scan = await scanForSecrets({
          secrets,
          files,
          // No codec: the history exactly as the server stores it.
          rawClient: new Client({ connection, namespace: config.temporal.namespace }),
          workflowIds,
        });
        printTable(
          'Secrets scan',
          ['secrets searched', 'files', 'raw histories', 'bytes scanned', 'hits'],
          [
            [
              String(secrets.size),
              String(files.length),
              String(scan.histories),
              String(scan.scannedBytes),
              String(scan.hits.length),
            ],
          ],
        );
        expect(secrets.size).toBeGreaterThan(0);
        expect(scan.hits).toEqual([]);
      } finally {
        token.stop();
        await connection.close();
      }
    }, 120_000);
  });
}
