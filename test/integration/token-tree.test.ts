// Seeing a tree: getApiTokenTree / waitForApiTokenTree and `tokenrelay token tree` against the real
// stack, with a tree that settles, one whose handoffs are held so its children lag, and one whose
// worker is stopped; plus the guards of `token rotate` (non-root, expired JWT, plain text).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { type ApiTokenWarning, rotateApiToken, startParent } from '../../src/stateful/client.js';
import { apiTokenFingerprint } from '../../src/stateful/fingerprint.js';
import { statefulWorkflowActivities } from '../../src/stateful/handoff-relay.js';
import { type ApiTokenTree, getApiTokenTree, waitForApiTokenTree } from '../../src/stateful/tree.js';
import { devConfig } from '../support/stack.js';
import { workflowBundleFor } from '../support/workflow-bundles.js';
import { createFixtureActivities } from './fixtures/stateful/activities.js';
import {
  eventually,
  type StatefulHarness,
  statefulHarness,
  treeIds,
  workflowsPath,
} from './fixtures/stateful/harness.js';
import { treeNode } from './fixtures/stateful/workflows.js';
import { HELD_PREFIX } from './fixtures/token-tree/hold-handoffs.js';

const config = devConfig();
const bin = join(packageRoot(), 'bin', 'tokenrelay.js');
const holdHandoffs = fileURLToPath(new URL('./fixtures/token-tree/hold-handoffs.ts', import.meta.url));

const token = (n: number) => `tree-tok${n}-${randomUUID()}`;
const tokens = Array.from({ length: 6 }, (_, i) => token(i));

/** An unsigned JWT-shaped token with these claims: the guards decode without verifying. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('seeing a StatefulWorkflow tree', () => {
  const taskQueue = `token-tree-${randomUUID()}`;
  // 1 root, 2 children, 4 grandchildren; child 1 and its two children are excluded.
  const rootId = `tree-${randomUUID()}`;
  const ids = treeIds(rootId, 2, 2);
  const excludedIds = ids.filter((id) => id === `${rootId}.c1` || id.startsWith(`${rootId}.c1.`));
  const optedInIds = ids.filter((id) => !excludedIds.includes(id));
  // Its handoffs are held: after a rotation its children keep the first version.
  const heldId = `${HELD_PREFIX}${randomUUID()}`;
  let h: StatefulHarness;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let home: string;

  const startWorker = async () => {
    worker = await Worker.create({
      connection: h.workerConnection,
      namespace: h.namespace,
      taskQueue,
      workflowBundle: await workflowBundleFor(workflowsPath, { workflowInterceptorModules: [holdHandoffs] }),
      activities: { ...statefulWorkflowActivities, ...createFixtureActivities(h.client) },
      dataConverter: { payloadCodecs: [h.codec] },
      stickyQueueScheduleToStartTimeout: '1 second',
    });
    running = worker.run();
  };
  const stopWorker = async () => {
    worker?.shutdown();
    await running;
    worker = undefined;
  };

  /** The CLI pointed at the test stack the Temporal CLI's way, as dev application `app`. */
  function cli(args: string[], app: 'reader' | 'rotator', env: NodeJS.ProcessEnv = {}): Promise<Run> {
    const t = config.temporal;
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: packageRoot(),
      env: {
        ...process.env,
        TOKENRELAY_HOME: join(home, 'no-dev-stack'),
        TEMPORAL_ADDRESS: t.address,
        TEMPORAL_NAMESPACE: t.namespace,
        TEMPORAL_TLS_CLIENT_CERT_PATH: t.clientCertPath,
        TEMPORAL_TLS_CLIENT_KEY_PATH: t.clientKeyPath,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: t.caCertPath,
        TEMPORAL_TLS_SERVER_NAME: t.serverName,
        TOKENRELAY_TOKEN_URL: config.issuer.tokenUrl,
        TOKENRELAY_CLIENT_ID: config.apps[app].clientId,
        TOKENRELAY_CLIENT_SECRET: config.apps[app].clientSecret,
        TOKENRELAY_CODEC_KEYS: h.codecKeysEnv,
        FORCE_COLOR: '0',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdin.end();
    return new Promise((resolve) =>
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
    );
  }

  async function tokenFile(name: string, value: string): Promise<string> {
    const path = join(home, name);
    await writeFile(path, value, { mode: 0o600 });
    return path;
  }

  /** Waits (by condition) until the tree has all `count` workflows and they hold their parents' version. */
  const grown = (workflowId: string, count: number) =>
    eventually(
      () => getApiTokenTree(h.client, workflowId),
      // Settled speaks of opted-in workflows only: an excluded one may not have run its first task yet.
      (tree: ApiTokenTree) =>
        tree.counts.total === count && tree.settled && tree.nodes.every((n) => n.unreachable === null),
    );

  const byId = (tree: ApiTokenTree) => Object.fromEntries(tree.nodes.map((n) => [n.workflowId, n]));

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'token-tree-'));
    h = await statefulHarness(config);
    await startWorker();
    await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: rootId,
      input: { depth: 2, fanout: 2, excluded: [1] },
      apiToken: tokens[1],
    });
    await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: heldId,
      input: { depth: 1, fanout: 2 },
      apiToken: tokens[1],
    });
  });

  afterAll(async () => {
    for (const id of [rootId, heldId]) {
      await h?.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => {});
    }
    await stopWorker();
    await h?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('walks a fresh tree: the first version everywhere opted in, the excluded subtree marked excluded', async () => {
    const tree = await grown(rootId, 7);
    expect(tree.nodes.map((n) => n.workflowId).sort()).toEqual([...ids].sort());
    const nodes = byId(tree);
    const rootVersion = nodes[rootId]!.version!;
    expect(rootVersion).toBeGreaterThan(0);
    for (const id of optedInIds) {
      expect(nodes[id], id).toMatchObject({
        status: 'current',
        excluded: false,
        version: rootVersion,
        fingerprint: apiTokenFingerprint(tokens[1]!),
        workflowType: 'treeNode',
      });
    }
    for (const id of excludedIds) {
      expect(nodes[id], id).toMatchObject({ excluded: true, version: 0, fingerprint: null, confirmed: null });
    }
    expect(nodes[`${rootId}.c0.c1`]).toMatchObject({ depth: 2, parentWorkflowId: `${rootId}.c0` });
    expect(nodes[rootId]).toMatchObject({ depth: 0, parentWorkflowId: null, confirmed: null });
  });

  it('waitForApiTokenTree settles after a rotation with every opted-in workflow on the new version', async () => {
    const before = byId(await getApiTokenTree(h.client, rootId))[rootId]!.version!;
    const warnings: ApiTokenWarning[] = [];
    await rotateApiToken(h.client, rootId, tokens[2]!, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);

    const { settled, tree } = await waitForApiTokenTree(h.client, rootId, {
      timeout: '60s',
      interval: '200ms',
    });
    expect(settled).toBe(true);
    const nodes = byId(tree);
    const version = nodes[rootId]!.version!;
    expect(version).toBeGreaterThan(before);
    for (const id of optedInIds) {
      expect(nodes[id], id).toMatchObject({
        status: 'current',
        version,
        fingerprint: apiTokenFingerprint(tokens[2]!),
      });
    }
    for (const id of excludedIds) expect(nodes[id], id).toMatchObject({ excluded: true, version: 0 });
    // Each parent hears back from its children (the acknowledgement may trail the child's own update).
    await eventually(
      () => getApiTokenTree(h.client, rootId),
      (t: ApiTokenTree) => t.nodes.every((n) => n.confirmed !== false),
    );
  });

  it('token tree --wait exits 0 on the settled tree, one line per workflow, no token printed', async () => {
    const run = await cli(['token', 'tree', '--workflow-id', rootId, '--wait', '5s'], 'reader');
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    for (const id of ids) expect(lines.some((l) => l.trimStart().startsWith(`${id} `))).toBe(true);
    expect(lines.find((l) => l.startsWith(`${rootId} `))).toMatch(
      /treeNode {2}v\d+ {2}[0-9a-f]{12} .* current$/,
    );
    expect(lines.find((l) => l.startsWith(`  ${rootId}.c1 `))).toMatch(/current, excluded$/);
    expect(lines.find((l) => l.startsWith(`    ${rootId}.c0.c0 `))).toMatch(/current, confirmed$/);
    expect(lines.at(-1)).toBe(
      '7 workflows: 7 current, 0 lagging, 0 unreachable; 3 excluded, 0 skipped; settled',
    );
    for (const t of tokens) expect(run.stdout).not.toContain(t);

    const json = await cli(['token', 'tree', '--workflow-id', rootId, '--json'], 'reader');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      settled: true,
      rootWorkflowId: rootId,
      counts: { total: 7 },
    });
  });

  it('reports lagging children (handoffs held) as unsettled: waitForApiTokenTree false, token tree exit 7', async () => {
    await grown(heldId, 3);
    await rotateApiToken(h.client, heldId, tokens[3]!);
    const { settled, tree } = await waitForApiTokenTree(h.client, heldId, {
      timeout: '2s',
      interval: '200ms',
    });
    expect(settled).toBe(false);
    const nodes = byId(tree);
    const rootVersion = nodes[heldId]!.version!;
    expect(nodes[heldId]).toMatchObject({ status: 'current', fingerprint: apiTokenFingerprint(tokens[3]!) });
    for (const id of [`${heldId}.c0`, `${heldId}.c1`]) {
      expect(nodes[id], id).toMatchObject({
        status: 'lagging',
        confirmed: false,
        fingerprint: apiTokenFingerprint(tokens[1]!),
      });
      expect(nodes[id]!.version).toBeLessThan(rootVersion);
    }
    expect(tree.counts).toMatchObject({ total: 3, current: 1, lagging: 2 });

    const run = await cli(['token', 'tree', '--workflow-id', heldId, '--wait', '2s'], 'reader');
    expect(run.code).toBe(7);
    expect(run.stdout).toMatch(new RegExp(`^  ${heldId}\\.c0 .* lagging, unconfirmed$`, 'm'));
    expect(run.stdout).toMatch(/3 workflows: 1 current, 2 lagging, 0 unreachable; .*NOT settled$/m);
    expect(run.stderr).toMatch(/error \[cli\.tree_not_settled\]: .* after waiting 2s: 2 lagging/);
  });

  it('token rotate refuses a non-root without --force, an expired JWT and plain text; the SDK warns', async () => {
    const childId = `${rootId}.c0`;
    const next = await tokenFile('next.token', tokens[4]!);
    const refused = await cli(['token', 'rotate', '--workflow-id', childId, '--token-file', next], 'rotator');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`error [cli.not_root]: ${childId} is a child of ${rootId}`);
    expect(refused.stderr).toMatch(/--force/);

    const expiredAt = Math.floor(Date.now() / 1000) - 120;
    const expired = await tokenFile('expired.jwt', jwt({ sub: 'api', exp: expiredAt }));
    const stale = await cli(['token', 'rotate', '--workflow-id', rootId, '--token-file', expired], 'rotator');
    expect(stale.code).toBe(6);
    expect(stale.stderr).toContain(`error [apitoken.expired]`);
    expect(stale.stderr).toContain(new Date(expiredAt * 1000).toISOString());

    const plain = await cli(['token', 'rotate', '--workflow-id', rootId, '--token-file', next], 'rotator', {
      TOKENRELAY_CODEC_KEYS: '',
    });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(
      /error \[apitoken\.plaintext_refused\]: .*AesGcmPayloadCodec.*TOKENRELAY_CODEC_KEYS/,
    );
    expect(plain.stderr).toMatch(/--allow-plaintext-token/);
    for (const run of [refused, stale, plain]) expect(`${run.stdout}${run.stderr}`).not.toContain(tokens[4]!);

    // Nothing was sent: the child still holds the root's token.
    expect(byId(await getApiTokenTree(h.client, rootId))[childId]).toMatchObject({
      fingerprint: apiTokenFingerprint(tokens[2]!),
    });

    // The SDK sends, and says why that is probably not what was meant.
    const warnings: ApiTokenWarning[] = [];
    await rotateApiToken(h.client, childId, tokens[4]!, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'apitoken.not_root', workflowId: childId, parentWorkflowId: rootId }),
    ]);
    const forced = await cli(
      ['token', 'rotate', '--workflow-id', childId, '--token-file', next, '--force'],
      'rotator',
    );
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/warning: .* is a child of .*--force/);
  });

  it('with the worker stopped a rotation goes nowhere: token tree exits 7 (unreachable); it settles once a worker is back', async () => {
    await stopWorker();
    // The root cannot answer; the root check falls back to the server's record and finds no parent.
    const warnings: ApiTokenWarning[] = [];
    await rotateApiToken(h.client, rootId, tokens[5]!, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);

    // The JSON form carries the server's own words, which a failure here must show.
    const json = await cli(['token', 'tree', '--workflow-id', rootId, '--wait', '2s', '--json'], 'reader');
    expect(json.code).toBe(7);
    const [root] = (JSON.parse(json.stdout) as ApiTokenTree).nodes;
    expect(root?.unreachable, JSON.stringify(root?.unreachable)).toMatchObject({ reason: 'no_response' });

    const run = await cli(['token', 'tree', '--workflow-id', rootId, '--wait', '2s'], 'reader');
    expect(run.code).toBe(7);
    expect(run.stdout).toMatch(new RegExp(`^${rootId} .* unreachable \\(no_response\\)$`, 'm'));
    expect(run.stderr).toMatch(/error \[cli\.tree_not_settled\]: .*1 not answering/);

    await startWorker();
    const { settled, tree } = await waitForApiTokenTree(h.client, rootId, {
      timeout: '60s',
      interval: '200ms',
    });
    expect(settled).toBe(true);
    for (const n of tree.nodes.filter((x) => !x.excluded)) {
      expect(n.fingerprint, n.workflowId).toBe(apiTokenFingerprint(tokens[5]!));
    }
  });
});
