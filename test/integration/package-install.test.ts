// The acceptance test of the package as users get it: `npm pack`, install the tarball into an app of
// its own outside the repository (with @temporalio/* from the peer range), type-check the README's
// examples there under `strict`, bundle their workflows, run a worker and a client against the test
// stack, and drive the installed CLI — including its failures, each of which must end with a code, the
// table's exit status and no stack trace.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { devConfig } from '../support/stack.js';
import { eventually, until } from '../support/wait.js';

const run = promisify(execFile);
const config = devConfig();
const root = packageRoot();
/** Third-party modules of the app, kept between runs per dependency set (never the tarball itself). */
const cacheRoot = join(
  process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
  'tokenrelay',
  'install-check',
);

let app: string;
let tarball: string;
let packed: string[];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the installed CLI in the app, on the test stack unless `env` says otherwise: `npx tokenrelay …`,
 * or the same bin from the app's node_modules/.bin where npx cannot be used (another folder; a
 * process to signal, since npx does not pass SIGINT on).
 */
function tokenrelay(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; via?: 'npx' | 'bin' } = {},
): ChildProcess {
  const via = options.via ?? (options.cwd ? 'bin' : 'npx');
  const [command, prefix] =
    via === 'npx'
      ? ['npx', ['--no-install', 'tokenrelay']]
      : [join(app, 'node_modules', '.bin', 'tokenrelay'), []];
  return spawn(command, [...prefix, ...args], { cwd: options.cwd ?? app, env: options.env ?? stackEnv() });
}

function cli(args: string[], options: Parameters<typeof tokenrelay>[1] = {}): Promise<Run> {
  return collect(tokenrelay(args, options));
}

function collect(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  child.stdin?.end();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

function stackEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TOKENRELAY_HOME: inject('devRoot'),
    FORCE_COLOR: '0',
    ...extra,
  };
  for (const name of Object.keys(env)) {
    if (name.startsWith('TEMPORAL_') || name === 'TOKENRELAY_CODEC_KEYS' || name.startsWith('VITEST'))
      delete env[name];
  }
  return env;
}

/** A failure as the issue demands: `error [code]: …`, the table's exit status, and no stack trace. */
function expectFailure(result: Run, code: string, status: number, message?: RegExp): void {
  expect(result.stderr, result.stderr).toContain(`error [${code}]: `);
  expect(result.code, result.stderr).toBe(status);
  expect(result.stderr).not.toMatch(/\n\s+at .+[:(]\d+:\d+\)?/);
  if (message) expect(result.stderr).toMatch(message);
}

async function npm(args: string[], cwd: string, timeout = 600_000) {
  return run('npm', args, {
    cwd,
    timeout,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_update_notifier: 'false',
    },
  });
}

const roundTrip = `import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { connectClient, startParent, startWorker } from 'tokenrelay';
import { devCodec, devTls, devToken, readDevConfig } from 'tokenrelay/dev';
import { createActivities } from './examples/activities.js';
import { catalogSync } from './examples/workflows.js';

// The examples' tree against a stand-in for the API: it answers three items to the API token the
// tree was started with, and 401 to anything else.
const apiToken = \`api-token-\${Date.now()}\`;
let accepted = 0;
let refused = 0;
const api = createServer((req, res) => {
  const ok = req.headers.authorization === \`Bearer \${apiToken}\`;
  if (ok) accepted += 1;
  else refused += 1;
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
  res.end(JSON.stringify(ok ? [1, 2, 3] : { error: 'unauthorized' }));
});
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiUrl = \`http://127.0.0.1:\${(api.address() as AddressInfo).port}\`;

const bundleWarnings: string[] = [];
const workflowBundle = await bundleWorkflowCode({
  workflowsPath: join(process.cwd(), 'examples', 'workflows.ts'),
  logger: new DefaultLogger('WARN', (entry) => {
    bundleWarnings.push(entry.message);
  }),
});

const config = await readDevConfig();
const token = devToken(config, 'developer');
const tls = devTls(config);
const codec = await devCodec(config);
const connection = await connectClient({ address: config.temporal.address, tls, token });
const client = new Client({
  connection,
  namespace: config.temporal.namespace,
  dataConverter: { payloadCodecs: [codec] },
});
const taskQueue = \`install-check-\${Date.now()}\`;
const worker = await startWorker({
  address: config.temporal.address,
  namespace: config.temporal.namespace,
  tls,
  token,
  codec,
  worker: { taskQueue, workflowBundle, activities: createActivities(client) },
  shutdownSignals: [],
});
const shards = 2;
const root = await startParent(client, catalogSync, {
  taskQueue,
  workflowId: \`catalog-sync-\${Date.now()}\`,
  input: { apiUrl, shards },
  apiToken,
});
const result = await root.result();
await worker.shutdown();
await connection.close();
token.stop();
api.close();
console.log(JSON.stringify({ result, shards, accepted, refused, bundleWarnings }));
`;

const appTsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    outDir: 'build',
    rootDir: '.',
  },
  include: ['examples', 'roundtrip.ts'],
};

describe('the packed package, installed into an app of its own', () => {
  beforeAll(async () => {
    const work = await mkdtemp(join(tmpdir(), 'tokenrelay-install-'));
    // prepack builds dist/ first.
    const { stdout } = await npm(['pack', '--json', '--pack-destination', work], root);
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [
      { filename: string; files: { path: string }[] },
    ];
    tarball = join(work, info.filename);
    packed = info.files.map((f) => f.path);

    app = join(work, 'app');
    await mkdir(app);
    const ours = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const thirdParty = {
      ...ours.peerDependencies,
      typescript: ours.devDependencies.typescript as string,
      '@types/node': ours.devDependencies['@types/node'] as string,
    };
    await writeFile(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'tokenrelay-install-check', private: true, type: 'module', dependencies: { ...thirdParty, tokenrelay: `file:${tarball}` } }, null, 2)}\n`,
    );
    await writeFile(join(app, 'tsconfig.json'), `${JSON.stringify(appTsconfig, null, 2)}\n`);
    await cp(join(root, 'examples'), join(app, 'examples'), { recursive: true });
    await writeFile(join(app, 'roundtrip.ts'), roundTrip);

    // Everything but tokenrelay comes from the cache when this dependency set was installed before.
    const key = createHash('sha256')
      .update(JSON.stringify({ thirdParty, dependencies: ours.dependencies, node: process.versions.node }))
      .digest('hex')
      .slice(0, 16);
    const cached = join(cacheRoot, key, 'node_modules');
    if (existsSync(cached))
      await cp(cached, join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    await npm(['install', '--no-package-lock', '--prefer-offline'], app);
    if (!existsSync(cached)) {
      const staging = join(cacheRoot, `${key}.${randomUUID()}`);
      await cp(join(app, 'node_modules'), join(staging, 'node_modules'), {
        recursive: true,
        verbatimSymlinks: true,
      });
      await rm(join(staging, 'node_modules', 'tokenrelay'), { recursive: true, force: true });
      await rename(staging, join(cacheRoot, key)).catch(() => rm(staging, { recursive: true, force: true }));
    }
  }, 900_000);

  afterAll(async () => {
    if (app) await rm(join(app, '..'), { recursive: true, force: true });
  });

  it('ships built code, the reference app, the Go server and the license, and no source maps or sources', () => {
    for (const file of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/workflow.js',
      'dist/src/dev.js',
      'dist/src/cli/main.js',
      'dist/workflows/index.js',
      'dist/activities/index.js',
      'bin/tokenrelay.js',
      'server/go.mod',
      'temporal-dev.yml',
      'LICENSE',
      'README.md',
      'package.json',
    ]) {
      expect(packed, file).toContain(file);
    }
    expect(packed.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(
      packed.filter(
        (f) => f.startsWith('src/') || f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
  });

  it('installs with @temporalio/* from the app, not a copy of its own', async () => {
    const installed = JSON.parse(
      await readFile(join(app, 'node_modules', 'tokenrelay', 'package.json'), 'utf8'),
    );
    expect(Object.keys(installed.peerDependencies)).toContain('@temporalio/workflow');
    expect(installed.dependencies['@temporalio/workflow']).toBeUndefined();
    expect(existsSync(join(app, 'node_modules', 'tokenrelay', 'node_modules', '@temporalio'))).toBe(false);
    const license = await readFile(join(app, 'node_modules', 'tokenrelay', 'LICENSE'), 'utf8');
    expect(license).toMatch(new RegExp(`^${installed.license} License`));
  });

  it('type-checks the examples under strict, bundles their workflows, and runs a worker and client round trip', async () => {
    // skipLibCheck is off so the package's own declarations are checked too; third-party
    // declarations (Temporal's refer to an untyped `ms`) are not ours to judge. tsc emits regardless.
    const tsc = await run('npx', ['--no-install', 'tsc', '-p', '.'], { cwd: app, timeout: 300_000 }).then(
      (r) => r.stdout,
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
    const ours = tsc
      .split('\n')
      .filter((line) => /error TS\d+/.test(line) && !/^node_modules\/(?!tokenrelay\/)/.test(line));
    expect(ours, tsc).toEqual([]);
    expect((await readdir(join(app, 'build', 'examples'))).sort()).toEqual([
      'activities.js',
      'rotate.js',
      'worker.js',
      'workflows.js',
    ]);
    const result = await collect(
      spawn(process.execPath, [join('build', 'roundtrip.js')], { cwd: app, env: stackEnv() }),
    );
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
    // Every shard got the token from the root and called the API with it.
    expect(summary).toMatchObject({ result: 6, shards: 2, accepted: 2, refused: 0 });
    expect(summary.bundleWarnings.filter((w: string) => /source ?map/i.test(w))).toEqual([]);
    expect(result.stderr).not.toMatch(/Failed to parse source map/);
  }, 600_000);

  it('runs the CLI from node_modules: --help, worker, workflow start and token info', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tokenrelay/);

    const worker = tokenrelay(['worker'], { via: 'bin' });
    let workerErr = '';
    worker.stderr?.on('data', (d) => {
      workerErr += d;
    });
    const exited = collect(worker);
    try {
      await until(
        () => workerErr.includes('Reference worker polling') || worker.exitCode !== null,
        'the installed worker to start polling',
        { timeoutMs: 180_000 },
      );
      expect(workerErr).toContain('Reference worker polling');

      const apiToken = await cli(['token', 'issue', '--app', 'apiClient']);
      expect(apiToken.code, apiToken.stderr).toBe(0);
      const treeId = `install-tree-${randomUUID().slice(0, 8)}`;
      const started = await cli(
        [
          'workflow',
          'start',
          'inventorySync',
          '--workflow-id',
          treeId,
          '--input',
          JSON.stringify({
            apiUrl: config.demoApi.url,
            regions: ['eu'],
            storesPerRegion: 1,
            intervalSeconds: 5,
          }),
          '--with-api-token',
          '--token-env',
          'API_TOKEN',
          '--json',
        ],
        { env: stackEnv({ API_TOKEN: apiToken.stdout.trim() }) },
      );
      expect(started.code, started.stderr).toBe(0);

      const info = await eventually(
        async () => {
          const shown = await cli(['token', 'info', '--workflow-id', treeId, '--json']);
          return (shown.code === 0 ? JSON.parse(shown.stdout) : {}) as { version?: number };
        },
        (i) => (i.version ?? 0) > 0,
        'token info to show the tree holding its token',
        { intervalMs: 500 },
      );
      expect(info.version).toBeGreaterThan(0);

      // token info on a workflow that is not a StatefulWorkflow.
      const heldId = `install-held-${randomUUID().slice(0, 8)}`;
      const held = await cli(['workflow', 'start', 'heldWorkflow', '--workflow-id', heldId, '--json']);
      expect(held.code, held.stderr).toBe(0);
      expectFailure(
        await cli(['token', 'info', '--workflow-id', heldId]),
        'cli.not_stateful_workflow',
        2,
        /not a StatefulWorkflow/,
      );

      // A query without the codec: the answer is encrypted.
      const t = config.temporal;
      const reader = config.apps.reader;
      expectFailure(
        await cli(
          [
            'token',
            'info',
            '--workflow-id',
            treeId,
            '--address',
            t.address,
            '--tls-cert-path',
            t.clientCertPath,
            '--tls-key-path',
            t.clientKeyPath,
            '--tls-ca-path',
            t.caCertPath,
            '--tls-server-name',
            t.serverName,
          ],
          {
            env: stackEnv({
              TOKENRELAY_TOKEN_URL: config.issuer.tokenUrl,
              TOKENRELAY_CLIENT_ID: reader.clientId,
              TOKENRELAY_CLIENT_SECRET: reader.clientSecret,
            }),
          },
        ),
        'cli.codec_missing',
        2,
        /TOKENRELAY_CODEC_KEYS/,
      );

      worker.kill('SIGINT');
      const stopped = await exited;
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stderr).not.toMatch(/Failed to parse source map|ERR_MODULE_NOT_FOUND/);

      // token info on a tree no worker runs any more: no answer in time, or (once the server noticed
      // the pollers are gone) refused at once; either way the message says to start the worker.
      const unanswered = await cli(['token', 'info', '--workflow-id', treeId]);
      expectFailure(
        unanswered,
        unanswered.stderr.includes('[cli.no_worker]') ? 'cli.no_worker' : 'cli.timeout',
        1,
        /no worker is polling/,
      );
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
      await exited;
    }
  }, 600_000);

  it('ends every other listed CLI failure with a code, its exit status and no stack trace', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'tokenrelay-elsewhere-'));
    const pki = join(elsewhere, 'pki');
    const bad = await cli(['certs', 'generate', '--dir', pki, '--client', 'bad name']);
    expectFailure(bad, 'cli.invalid_argument', 2, /--client must be a simple file name/);
    expect(existsSync(pki)).toBe(false);

    expectFailure(await cli(['dev', 'up', '--token-lifetime', 'abc']), 'cli.invalid_argument', 2, /abc/);

    // Without a dev stack here and no TOKENRELAY_HOME: the hint says where it looked and what to set.
    const noHome = stackEnv();
    delete noHome.TOKENRELAY_HOME;
    const noStack = await cli(['token', 'info', '--workflow-id', 'x'], {
      env: noHome,
      cwd: elsewhere,
    });
    expectFailure(noStack, 'cli.invalid_argument', 2, /TOKENRELAY_HOME/);

    // dev status from another folder tells "no stack here" apart from a stopped one.
    const status = await cli(['dev', 'status'], { env: noHome, cwd: elsewhere });
    expect(status.stdout).toMatch(/No dev stack in .*TOKENRELAY_HOME/);
    const running = await cli(['dev', 'status'], { cwd: elsewhere });
    expect(running.code, running.stdout).toBe(0);
    expect(running.stdout).toMatch(/temporal: running/);
    await rm(elsewhere, { recursive: true, force: true });
  }, 120_000);
});
