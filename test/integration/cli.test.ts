import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DevConfig } from '../../src/devstack/dev-config.js';
import { devStartService, devStopService } from '../../src/devstack/dev-stack.js';
import { packageRoot } from '../../src/package-root.js';
import { TOUR_ROOT_ID } from '../../src/reference/rotation-tour.js';
import { apiTokenFingerprint } from '../../src/workflow.js';
import { REPLAY_BUDGET_EVENTS } from '../../workflows/index.js';
import { saveCapturedOutput } from '../faults/helpers.js';
import { testPort } from '../support/ports.js';
import { eventually } from '../support/wait.js';

// Drives the CLI the way a user does, on a stack of its own (own home and ports), so it exercises
// `dev up` and `dev down` for real without touching the shared test stack.
const PORT_BASE = testPort('cli');
let home: string;
/** The version the CLI's rotation stamped on `cli-tree`; later cases see the same tree. */
let cliTreeVersion = 0;
const bin = join(packageRoot(), 'bin', 'tokenrelay.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function env(): NodeJS.ProcessEnv {
  return { ...process.env, TOKENRELAY_HOME: home, TOKENRELAY_PORT_BASE: String(PORT_BASE), FORCE_COLOR: '0' };
}

function cli(
  args: string[],
  options: { stdin?: string; command?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  const [command, ...prefix] = options.command ?? [process.execPath, bin];
  const child = spawn(command as string, [...prefix, ...args], {
    env: options.env ?? env(),
    cwd: packageRoot(),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** The JSON a command printed: all of stdout, or its last line when something (npm) printed before. */
function lastJson<T>(run: Run): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as T;
  }
}

describe('the tokenrelay CLI, driven as a user would', () => {
  let worker: ChildProcess | undefined;
  /** What `tokenrelay worker` printed (the core's warnings among it); kept under `home`, shown on a stall. */
  let workerOutput = '';

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'tokenrelay-cli-'));
  });

  let failed = false;
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      failed = true;
    });
  });

  afterAll(async () => {
    worker?.kill('SIGTERM');
    await cli(['dev', 'down']);
    await saveCapturedOutput(home, 'cli-worker', workerOutput);
    // The stack's state and logs are what a failure is read from; a clean run leaves nothing.
    if (failed) process.stderr.write(`[cli.test] kept the CLI's state and logs in ${home}\n`);
    else await rm(home, { recursive: true, force: true });
  });

  it('dev up → app create → token issue → token validate', async () => {
    const up = await cli(['dev', 'up', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(lastJson<{ temporal: string }>(up).temporal).toBe(`127.0.0.1:${PORT_BASE + 33}`);

    const created = await cli(['app', 'create', 'cli-app', '-p', 'default:read', '--json']);
    expect(created.code).toBe(0);
    const app = lastJson<{ keyId: string; keySecret: string }>(created);
    expect(app.keyId).toMatch(/^trk_/);
    expect(created.stderr).toMatch(/shown only now/);

    const issued = await cli(['token', 'issue', '--app', 'worker']);
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const file = join(home, 'worker.jwt');
    await writeFile(file, token);
    const valid = await cli(['token', 'validate', '--token-file', file, '--json']);
    expect(valid.code).toBe(0);
    expect(lastJson<{ valid: boolean; sub: string }>(valid)).toMatchObject({ valid: true, sub: 'worker' });

    const wrongAudience = await cli(['token', 'validate', '--audience', 'someone-else'], { stdin: token });
    expect(wrongAudience.code).toBe(6);
    expect(wrongAudience.stderr).toContain('token.wrong_audience');
    const [h, p, s] = token.split('.');
    const tampered = await cli(['token', 'validate'], { stdin: `${h}.${p}x.${s}` });
    expect(tampered.code).toBe(6);
    expect(tampered.stderr).toMatch(/token\.(bad_signature|malformed)/);
  }, 180_000);

  it('npm start runs the main job to its summary, non-interactively', async () => {
    const run = await cli(['start', '--', '--json'], { command: ['npm'] });
    expect(run.code).toBe(0);
    const summary = lastJson<{
      workflows: number;
      rejectedAfterRevocation: number;
      acceptedWithNewToken: number;
      oldTokenRefused: boolean;
    }>(run);
    expect(summary.workflows).toBe(13);
    expect(summary.rejectedAfterRevocation).toBe(0);
    expect(summary.acceptedWithNewToken).toBeGreaterThan(0);
    expect(summary.oldTokenRefused).toBe(true);
    // The progress display went to stderr and names versions, never tokens.
    expect(run.stderr).toMatch(/token v2 reached 13\/13 workflows/);
    expect(run.stderr).not.toMatch(/eyJ[\w-]{10,}\./);
  }, 240_000);

  it('npm start again replaces the first tree, children included, and succeeds', async () => {
    const startedAt = new Date();
    const run = await cli(['start', '--', '--json'], { command: ['npm'] });
    expect(run.code).toBe(0);
    const summary = lastJson<{
      workflows: number;
      previousTree: { running: number; stopped: number; terminated: number; scheduleReplaced: boolean };
      rotation: { outcome: string; holding: number; nodes: number };
    }>(run);
    // The first run's tree was still running (no worker since it ended); this run ended all of it.
    // (Stopped by the cascade normally; a node that is slower than the wait is terminated and counted.)
    expect(summary.previousTree).toMatchObject({ running: 13, scheduleReplaced: true });
    expect(summary.previousTree.stopped + summary.previousTree.terminated).toBe(13);
    expect(run.stderr).toMatch(/Stopped the tree of an earlier run: 13 workflows were running/);
    expect(summary.rotation).toMatchObject({ outcome: 'rotated', holding: 13, nodes: 13 });
    // No workflow of the first tree is left running: every running one started with the second run.
    const config = JSON.parse(await readFile(join(home, 'dev.json'), 'utf8')) as DevConfig;
    const { openDevClient } = await import('../../src/cli/connection-options.js');
    const { client, close } = await openDevClient(config, 'reader');
    try {
      const old = [];
      for await (const w of client.workflow.list({
        query: `ExecutionStatus = 'Running' AND StartTime < '${startedAt.toISOString()}'`,
      })) {
        if (w.workflowId.startsWith('inventory-sync')) old.push(w.workflowId);
      }
      expect(old).toEqual([]);
    } finally {
      await close();
    }
    // Done with the tour's tree: stopped (the cascade runs once the next case starts a worker), it no
    // longer has 13 workflows calling the API every second for the rest of this file.
    const developer = await openDevClient(config, 'developer');
    try {
      await developer.client.workflow.getHandle(TOUR_ROOT_ID).signal('stop');
    } finally {
      await developer.close();
    }
  }, 300_000);

  it('workflow start → token rotate → token show → token info', async () => {
    worker = spawn(process.execPath, [bin, 'worker'], { env: env(), cwd: packageRoot() });
    const keep = (d: Buffer) => {
      workerOutput += d;
    };
    worker.stdout?.on('data', keep);
    worker.stderr?.on('data', keep);
    const first = join(home, 'api-v1.jwt');
    const second = join(home, 'api-v2.jwt');
    await writeFile(first, (await cli(['token', 'issue', '--app', 'apiClient'])).stdout.trim());
    await writeFile(second, (await cli(['token', 'issue', '--app', 'apiClient'])).stdout.trim());
    const input = JSON.stringify({
      apiUrl: `http://127.0.0.1:${PORT_BASE + 181}`,
      regions: ['eu'],
      storesPerRegion: 1,
      intervalSeconds: 1,
    });
    const started = await cli([
      'workflow',
      'start',
      'inventorySync',
      '--input',
      input,
      '--workflow-id',
      'cli-tree',
      '--with-api-token',
      '--token-file',
      first,
      '--json',
    ]);
    expect(started.code).toBe(0);
    expect(lastJson<{ workflowId: string }>(started).workflowId).toBe('cli-tree');

    const rotated = await cli(['token', 'rotate', '--workflow-id', 'cli-tree', '--token-file', second]);
    expect(rotated.code).toBe(0);
    const secondToken = (await readFile(second, 'utf8')).trim();
    // Versions are stamped from workflow time, so the rotation is recognised by its fingerprint.
    const secondFingerprint = apiTokenFingerprint(secondToken);
    const info = await eventually(
      async () =>
        lastJson<{ version: number; fingerprint: string | null; children: { reached: number } }>(
          await cli(['token', 'info', '--workflow-id', 'cli-tree', '--json']),
        ),
      (i) => i.fingerprint === secondFingerprint && i.children.reached === 1,
      'token info to show the rotated token, reached by the one child',
    );
    expect(info).toMatchObject({ fingerprint: secondFingerprint, children: { reached: 1 } });
    cliTreeVersion = info.version;

    const shown = await cli(['token', 'show', '--workflow-id', 'cli-tree']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/redacted/);
    expect(shown.stdout).not.toContain(secondToken);
    const revealed = await cli(['token', 'show', '--workflow-id', 'cli-tree', '--reveal']);
    expect(revealed.stdout.trim()).toBe(secondToken);
    expect(revealed.stderr).toMatch(/live credential/);

    // Pointed at a cluster the Temporal CLI's way instead of through dev.json: TEMPORAL_* variables,
    // and tokenrelay's own variables for the token and the payload codec.
    const dev = JSON.parse(await readFile(join(home, 'dev.json'), 'utf8')) as DevConfig;
    const elsewhere = await cli(['token', 'info', '--workflow-id', 'cli-tree', '--json'], {
      env: {
        ...process.env,
        TOKENRELAY_HOME: join(home, 'not-here'),
        TEMPORAL_ADDRESS: dev.temporal.address,
        TEMPORAL_TLS_CLIENT_CERT_PATH: dev.temporal.clientCertPath,
        TEMPORAL_TLS_CLIENT_KEY_PATH: dev.temporal.clientKeyPath,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: dev.temporal.caCertPath,
        TEMPORAL_TLS_SERVER_NAME: dev.temporal.serverName,
        TOKENRELAY_TOKEN_URL: dev.issuer.tokenUrl,
        TOKENRELAY_CLIENT_ID: dev.apps.reader.clientId,
        TOKENRELAY_CLIENT_SECRET: dev.apps.reader.clientSecret,
        TOKENRELAY_CODEC_KEYS: dev.codec.keys,
      },
    });
    expect(elsewhere.code).toBe(0);
    expect(lastJson<{ version: number }>(elsewhere).version).toBe(cliTreeVersion);
  }, 180_000);

  it('token tree shows the rotated tree as reader; workflow start refuses to send a token in plain text', async () => {
    const tree = await cli(['token', 'tree', '--workflow-id', 'cli-tree', '--wait', '30s', '--json']);
    expect(tree.code).toBe(0);
    const shown = lastJson<{
      settled: boolean;
      counts: { total: number; lagging: number };
      nodes: Array<{ workflowId: string; workflowType: string; depth: number; version: number }>;
    }>(tree);
    expect(shown).toMatchObject({ settled: true, counts: { total: 3, lagging: 0 } });
    expect(shown.nodes.map((n) => [n.workflowId, n.workflowType, n.depth])).toEqual([
      ['cli-tree', 'inventorySync', 0],
      ['cli-tree.eu', 'regionSync', 1],
      ['cli-tree.eu.store-0', 'storeSync', 2],
    ]);
    expect(new Set(shown.nodes.map((n) => n.version)).size).toBe(1);
    const text = await cli(['token', 'tree', '--workflow-id', 'cli-tree']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ {4}cli-tree\.eu\.store-0 +storeSync .* current, confirmed$/m);
    expect(text.stdout).not.toContain((await readFile(join(home, 'api-v2.jwt'), 'utf8')).trim());

    // Pointed at the cluster without TOKENRELAY_CODEC_KEYS: the token would sit readable in history.
    const dev = JSON.parse(await readFile(join(home, 'dev.json'), 'utf8')) as DevConfig;
    const plain = await cli(
      [
        'workflow',
        'start',
        'inventorySync',
        '--workflow-id',
        'cli-plain',
        '--with-api-token',
        '--token-file',
        join(home, 'api-v2.jwt'),
      ],
      {
        env: {
          ...process.env,
          TOKENRELAY_HOME: join(home, 'not-here'),
          TEMPORAL_ADDRESS: dev.temporal.address,
          TEMPORAL_TLS_CLIENT_CERT_PATH: dev.temporal.clientCertPath,
          TEMPORAL_TLS_CLIENT_KEY_PATH: dev.temporal.clientKeyPath,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: dev.temporal.caCertPath,
          TEMPORAL_TLS_SERVER_NAME: dev.temporal.serverName,
          TOKENRELAY_TOKEN_URL: dev.issuer.tokenUrl,
          TOKENRELAY_CLIENT_ID: dev.apps.developer.clientId,
          TOKENRELAY_CLIENT_SECRET: dev.apps.developer.clientSecret,
          TOKENRELAY_CODEC_KEYS: '',
        },
      },
    );
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(
      /error \[apitoken\.plaintext_refused\]: .*AesGcmPayloadCodec.*TOKENRELAY_CODEC_KEYS.*--allow-plaintext-token/,
    );
    const notStarted = await cli(['token', 'info', '--workflow-id', 'cli-plain']);
    expect(notStarted.code).toBe(3);
  }, 180_000);

  it('fails clearly: unknown workflow, bad token file, issuer down', async () => {
    const unknown = await cli(['token', 'info', '--workflow-id', 'no-such-workflow']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/error \[cli\.workflow_not_found\]: no workflow no-such-workflow/);

    const badFile = await cli([
      'token',
      'rotate',
      '--workflow-id',
      'cli-tree',
      '--token-file',
      join(home, 'missing.jwt'),
    ]);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toMatch(/error \[cli\.token_input_invalid\]: cannot read --token-file .*ENOENT/);

    const bare = await cli(['token', 'rotate', '--workflow-id', 'cli-tree'], { stdin: '' });
    expect(bare.code).toBe(2);

    await devStopService('issuer', { root: home });
    try {
      const down = await cli(['token', 'issue']);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/error \[auth\.token_endpoint_unreachable\]/);
    } finally {
      await devStartService('issuer', { root: home });
    }
  }, 120_000);

  it("server start runs the stack's Temporal in the foreground, and certs generate issues a client certificate", async () => {
    // A workflow task in flight when Temporal stops times out, and its retry carries the whole history
    // of the run to the worker to replay within the task timeout: the tree keeps each run short
    // (workflows/index.ts, BOUNDED_HISTORY_PATCH). Without that, a run of ~500 events never replayed
    // in time on a loaded machine and token info was refused for good ("Workflow Task in failed state").
    const config = JSON.parse(await readFile(join(home, 'dev.json'), 'utf8')) as DevConfig;
    const { openDevClient } = await import('../../src/cli/connection-options.js');
    const reader = await openDevClient(config, 'reader');
    try {
      const { historyLength } = await reader.client.workflow.getHandle('cli-tree').describe();
      // One interval's events (an activity, a timer, their tasks) may follow the check.
      expect(historyLength).toBeLessThan(REPLAY_BUDGET_EVENTS + 30);
    } finally {
      await reader.close();
    }
    await devStopService('temporal', { root: home });
    const server = spawn(process.execPath, [bin, 'server', 'start'], {
      env: env(),
      cwd: packageRoot(),
      stdio: 'ignore',
    });
    try {
      const info = await eventually(
        () => cli(['token', 'info', '--workflow-id', 'cli-tree', '--json']),
        (run) => run.code === 0,
        'the foreground server to answer token info',
        { timeoutMs: 90_000, intervalMs: 1_000 },
      ).catch((err: Error) => {
        // The worker's side of a stall: its core logs each completion the server no longer wanted.
        const tail = workerOutput
          .split('\n')
          .filter((l) => /WARN|ERROR|rror/.test(l))
          .slice(-15);
        err.message += `\nworker output (warnings, last 15; all of it in ${home}/faults-captured):\n${tail.join('\n')}`;
        throw err;
      });
      expect(info.code).toBe(0);
      expect(lastJson<{ version: number }>(info).version).toBe(cliTreeVersion);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    const certs = await cli(['certs', 'generate', '--client', 'rotated-worker', '--json']);
    expect(certs.code).toBe(0);
    const { client, generated } = lastJson<{ client: { certPath: string }; generated: boolean }>(certs);
    expect(generated).toBe(false); // the stack's PKI is kept; only the extra certificate is new
    expect(await readFile(client.certPath, 'utf8')).toMatch(/BEGIN CERTIFICATE/);
    await devStartService('temporal', { root: home });
  }, 120_000);

  it('dev down stops everything and dev status says so with exit 3', async () => {
    worker?.kill('SIGTERM');
    const down = await cli(['dev', 'down']);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/^Stopped .*temporal/);
    const status = await cli(['dev', 'status', '--json']);
    expect(status.code).toBe(3);
    expect(lastJson<{ issuer: { running: boolean } }>(status).issuer.running).toBe(false);
  }, 60_000);
});
