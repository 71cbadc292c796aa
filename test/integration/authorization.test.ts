// tokenrelay's authorizer on the real server (server/ in this repo, built and run by `dev up`): who may
// rotate, read and hand off tokens, which queues and workflow types a narrowed worker reaches, that no
// token reaches history in plain text, that internal-frontend admits only the server's own services,
// and that every token-sensitive decision is in the audit log.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { credentials, Client as GrpcClient, Metadata } from '@grpc/grpc-js';
import { Client, type Connection } from '@temporalio/client';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type DevAppName, devLayout, devTls } from '../../src/dev.js';
import { devPkiPaths } from '../../src/devstack/pki.js';
import {
  type ApiTokenInfo,
  connectWorker,
  type RefreshingToken,
  rotateApiToken,
  startParent,
} from '../../src/index.js';
import { statefulWorkflowActivities } from '../../src/stateful/handoff-relay.js';
import { RELAY_HANDOFF_ACTIVITY } from '../../src/stateful/messages.js';
import {
  createTestApp,
  devConfig,
  grpcCodeOf,
  installCountingRuntime,
  issueToken,
  rawConnection,
  refreshingTokenFor,
} from '../support/stack.js';
import { workflowBundleFor } from '../support/workflow-bundles.js';
import { createFixtureActivities } from './fixtures/stateful/activities.js';
import {
  eventually,
  findSecret,
  rawHistoryEvents,
  type StatefulHarness,
  statefulHarness,
  workflowsPath,
} from './fixtures/stateful/harness.js';
import { finishSignal, treeNode } from './fixtures/stateful/workflows.js';

const PERMISSION_DENIED = 7;
const UNAVAILABLE = 14;
const UNIMPLEMENTED = 12;
const REFERENCE_QUEUE = 'tokenrelay-reference';
// temporal.api.enums.v1.TaskQueueKind
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_KIND_STICKY = 2;

const config = devConfig();
const layout = devLayout(inject('devRoot'));
const pki = devPkiPaths(layout.pkiDir);
const auditLogPath = join(layout.logsDir, 'authz-audit.log');
const apps: DevAppName[] = ['worker', 'developer', 'rotator', 'reader', 'outsider', 'admin'];

interface AuditLine {
  time: string;
  subject: string;
  namespace: string;
  api: string;
  workflowId?: string;
  workflowType?: string;
  signal?: string;
  query?: string;
  decision: 'allow' | 'deny';
  reason: string;
}

/** The gRPC code of a refused call and its status details (where Temporal puts the authorizer's reason). */
async function refusalOf(call: Promise<unknown>): Promise<{ code: number | 'ok'; details: string }> {
  try {
    await call;
    return { code: 'ok', details: '' };
  } catch (err) {
    const e = err as { code?: number; metadata?: Metadata; cause?: { code?: number; metadata?: Metadata } };
    const bin = (e.metadata ?? e.cause?.metadata)?.get('grpc-status-details-bin')[0];
    return {
      code: e.code ?? e.cause?.code ?? -1,
      details: Buffer.isBuffer(bin) ? bin.toString('latin1') : '',
    };
  }
}

async function auditLines(): Promise<AuditLine[]> {
  const text = await readFile(auditLogPath, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditLine);
}

describe("tokenrelay's authorizer on the dev stack", () => {
  const taskQueue = `authz-${randomUUID()}`;
  const workflowId = `authz-tree-${randomUUID()}`;
  const firstToken = `tok-first-${randomUUID()}`;
  const tokens = {} as Record<DevAppName, string>;
  const connections: Connection[] = [];
  let h: StatefulHarness;
  let runtime: Awaited<ReturnType<typeof installCountingRuntime>>;
  let pollerToken: RefreshingToken | undefined;
  let pollerConnection: NativeConnection | undefined;
  let stopWorker: () => void;
  let workerDone: Promise<void>;

  /** A client of `app` (plain Temporal SDK, fixed token); `codec: false` sends payloads as they are. */
  async function clientOf(app: DevAppName, options: { codec?: boolean } = {}): Promise<Client> {
    const connection = await rawConnection(config, { token: tokens[app] });
    connections.push(connection);
    return new Client({
      connection,
      namespace: config.temporal.namespace,
      ...(options.codec === false ? {} : { dataConverter: { payloadCodecs: [h.codec] } }),
    });
  }

  beforeAll(async () => {
    runtime = await installCountingRuntime();
    for (const app of apps) tokens[app] = await issueToken(config, app);
    h = await statefulHarness(config);
    // The suite's worker holds nothing but taskqueue.poll for its queue, like the narrowed `worker`
    // app: everything the SDK worker calls after polling must pass with that grant alone.
    const poller = await createTestApp({
      permissions: [`${config.temporal.namespace}:taskqueue.poll:${taskQueue}`],
    });
    pollerToken = refreshingTokenFor(config, poller);
    pollerConnection = await connectWorker({
      address: config.temporal.address,
      tls: devTls(config, 'worker'),
      token: pollerToken,
    });
    const worker = await Worker.create({
      connection: pollerConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle: await workflowBundleFor(workflowsPath),
      activities: { ...statefulWorkflowActivities, ...createFixtureActivities(h.client) },
      dataConverter: { payloadCodecs: [h.codec] },
    });
    let resolveStop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      resolveStop = resolve;
    });
    stopWorker = resolveStop;
    workerDone = worker.runUntil(stopped);
    await startParent(h.client, treeNode, {
      taskQueue,
      workflowId,
      input: { depth: 0, fanout: 0 },
      apiToken: firstToken,
    });
    await eventually(
      () => h.client.workflow.getHandle(workflowId).query<ApiTokenInfo>('apiTokenInfo'),
      (info) => info.version >= 1,
    );
  });

  afterAll(async () => {
    await h?.client.workflow
      .getHandle(workflowId)
      .terminate('test over')
      .catch(() => {});
    stopWorker?.();
    await workerDone?.catch(() => {});
    for (const c of connections) await c.close();
    await pollerConnection?.close();
    pollerToken?.stop();
    await h?.close();
  });

  it('runs workflows end to end on a worker that holds only taskqueue.poll for its queue', async () => {
    const id = `authz-short-${randomUUID()}`;
    const handle = await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: id,
      input: { depth: 0, fanout: 0 },
      apiToken: `tok-short-${randomUUID()}`,
    });
    await eventually(
      () => handle.query<ApiTokenInfo>('apiTokenInfo'),
      (info) => info.version >= 1,
    );
    await handle.signal(finishSignal);
    expect(await handle.result()).toBe('finished generation 0');
    // Polls, sticky polls, completions, query answers, heartbeats: the worker was refused nothing.
    expect(runtime.authFailures()).toBe(0);
  });

  it('lets a reader query apiTokenInfo but not apiToken', async () => {
    const handle = (await clientOf('reader')).workflow.getHandle(workflowId);
    const info = await handle.query<ApiTokenInfo>('apiTokenInfo');
    expect(info.version).toBeGreaterThanOrEqual(1);
    expect(await grpcCodeOf(handle.query('apiToken'))).toBe(PERMISSION_DENIED);
    expect(await grpcCodeOf(handle.query('apiAccess'))).toBe(PERMISSION_DENIED);
  });

  it('lets the rotator rotate with an encrypted apiToken signal, but not start workflows or read the raw token', async () => {
    const rotator = await clientOf('rotator');
    const rotated = `tok-rotated-${randomUUID()}`;
    await rotateApiToken(rotator.workflow.getHandle(workflowId), rotated);
    // The developer holds token.read: the workflow took the new token.
    const developer = await clientOf('developer');
    await eventually(
      () => developer.workflow.getHandle(workflowId).query<string | null>('apiToken'),
      (token) => token === rotated,
    );
    expect(await grpcCodeOf(rotator.workflow.getHandle(workflowId).query('apiToken'))).toBe(
      PERMISSION_DENIED,
    );
    expect(
      await grpcCodeOf(
        rotator.workflow.start(treeNode, {
          taskQueue,
          workflowId: `rotator-start-${randomUUID()}`,
          args: [{ depth: 0, fanout: 0 }],
        }),
      ),
    ).toBe(PERMISSION_DENIED);
  });

  it('resolves the workflow type (through internal-frontend) for type-scoped grants on calls that name only an id', async () => {
    const scoped = await createTestApp({
      permissions: [
        `${config.temporal.namespace}:token.read:tree*`,
        `${config.temporal.namespace}:workflow.query:tree*`,
      ],
    });
    const token = refreshingTokenFor(config, scoped);
    try {
      const connection = await rawConnection(config, { token: await token.get() });
      connections.push(connection);
      const client = new Client({
        connection,
        namespace: config.temporal.namespace,
        dataConverter: { payloadCodecs: [h.codec] },
      });
      const handle = client.workflow.getHandle(workflowId);
      expect(typeof (await handle.query<string | null>('apiToken'))).toBe('string');
      expect((await handle.query<ApiTokenInfo>('apiTokenInfo')).version).toBeGreaterThanOrEqual(1);
    } finally {
      token.stop();
    }
    // The worker app's token.read covers the reference types only.
    const worker = await clientOf('worker');
    expect(await grpcCodeOf(worker.workflow.getHandle(workflowId).query('apiToken'))).toBe(PERMISSION_DENIED);
    const lines = await auditLines();
    expect(
      lines.some(
        (l) =>
          l.subject === 'worker' &&
          l.query === 'apiToken' &&
          l.decision === 'deny' &&
          l.workflowType === 'treeNode' &&
          l.reason.includes('no token.read grant matches workflow type "treeNode"'),
      ),
    ).toBe(true);
    expect(
      lines.some(
        (l) => l.subject.startsWith('test-') && l.decision === 'allow' && l.workflowType === 'treeNode',
      ),
    ).toBe(true);
  });

  it('lets the worker app poll tokenrelay-reference (also by its sticky queue) and no other queue', async () => {
    const connection = await rawConnection(config, { token: tokens.worker });
    connections.push(connection);
    type TaskQueue = Parameters<Connection['workflowService']['pollWorkflowTaskQueue']>[0]['taskQueue'];
    const poll = (taskQueue: TaskQueue) =>
      grpcCodeOf(
        // A long poll that is allowed just waits; two seconds are enough to tell it from a refusal.
        connection.withDeadline(Date.now() + 2_000, () =>
          connection.workflowService.pollWorkflowTaskQueue({
            namespace: config.temporal.namespace,
            taskQueue,
            identity: 'authorization-test',
          }),
        ),
      );
    const NORMAL = TASK_QUEUE_KIND_NORMAL;
    const STICKY = TASK_QUEUE_KIND_STICKY;
    expect(await poll({ name: REFERENCE_QUEUE, kind: NORMAL })).not.toBe(PERMISSION_DENIED);
    expect(
      await poll({ name: `sticky-${randomUUID()}`, kind: STICKY, normalName: REFERENCE_QUEUE }),
    ).not.toBe(PERMISSION_DENIED);
    expect(await poll({ name: taskQueue, kind: NORMAL })).toBe(PERMISSION_DENIED);
    expect(await poll({ name: `sticky-${randomUUID()}`, kind: STICKY, normalName: taskQueue })).toBe(
      PERMISSION_DENIED,
    );
  });

  it('lets the worker app start its root workflow type and nothing else', async () => {
    const worker = await clientOf('worker');
    expect(
      await grpcCodeOf(
        worker.workflow.start(treeNode, {
          taskQueue,
          workflowId: `worker-start-${randomUUID()}`,
          args: [{ depth: 0, fanout: 0 }],
        }),
      ),
    ).toBe(PERMISSION_DENIED);
    // Its own root type is allowed (nobody serves this queue; the developer cleans up).
    const allowedId = `worker-root-${randomUUID()}`;
    await worker.workflow.start('inventorySync', {
      taskQueue: `unserved-${randomUUID()}`,
      workflowId: allowedId,
    });
    await (await clientOf('developer')).workflow.getHandle(allowedId).terminate('test over');
  });

  it('takes an external __tokenrelay_apiTokenHandoff (signal or update) only from token.handoff holders, as one encrypted envelope', async () => {
    // An empty one is refused for every dev application, admin included: a relay always sends one.
    for (const app of apps) {
      const client = await clientOf(app);
      const code = await grpcCodeOf(
        client.workflowService.signalWorkflowExecution({
          namespace: config.temporal.namespace,
          workflowExecution: { workflowId },
          signalName: '__tokenrelay_apiTokenHandoff',
          identity: `authorization-test-${app}`,
        }),
      );
      expect({ app, code }).toEqual({ app, code: PERMISSION_DENIED });
    }
    // An encrypted envelope: only the developer, whose token.handoff covers every type. The worker
    // app's covers the reference workflow types only; no role implies it. The version is stale, so
    // the workflow ignores the one that gets through.
    const stale = { token: `tok-stale-${randomUUID()}`, version: 1 };
    const outcomes: Record<string, number | 'ok'> = {};
    for (const app of apps) {
      outcomes[app] = await grpcCodeOf(
        (await clientOf(app)).workflow.getHandle(workflowId).signal('__tokenrelay_apiTokenHandoff', stale),
      );
    }
    expect(outcomes).toEqual({
      worker: PERMISSION_DENIED,
      developer: 'ok',
      rotator: PERMISSION_DENIED,
      reader: PERMISSION_DENIED,
      outsider: PERMISSION_DENIED,
      admin: PERMISSION_DENIED,
    });
    // The update form of the handoff (what the relay sends first): the same rule. The stale envelope
    // is taken by the workflow, which replies with the newer version it keeps.
    const updates: Record<string, number | 'ok'> = {};
    for (const app of apps) {
      updates[app] = await grpcCodeOf(
        (await clientOf(app)).workflow
          .getHandle(workflowId)
          .executeUpdate('__tokenrelay_apiTokenHandoff', { args: [stale] }),
      );
    }
    expect(updates).toEqual(outcomes);
    // Every other reserved update is refused, to the developer too.
    expect(
      await grpcCodeOf(
        (await clientOf('developer')).workflow
          .getHandle(workflowId)
          .executeUpdate('__tokenrelay_apiTokenAck', {
            args: [{ workflowId, version: 1, fingerprint: null }],
          }),
      ),
    ).toBe(PERMISSION_DENIED);
    // Plain text is refused even to the developer.
    const plain = await clientOf('developer', { codec: false });
    expect(
      await grpcCodeOf(plain.workflow.getHandle(workflowId).signal('__tokenrelay_apiTokenHandoff', stale)),
    ).toBe(PERMISSION_DENIED);
    // Nor through signal-with-start, by the app that may do everything else.
    const developer = await clientOf('developer');
    expect(
      await grpcCodeOf(
        developer.workflow.signalWithStart(treeNode, {
          taskQueue,
          workflowId,
          args: [{ depth: 0, fanout: 0 }],
          signal: '__tokenrelay_apiTokenAck',
          signalArgs: [{ workflowId, version: 1, fingerprint: null }],
        }),
      ),
    ).toBe(PERMISSION_DENIED);
    // The workflow still holds the token the rotator sent, not anything forged.
    const info = await developer.workflow.getHandle(workflowId).query<ApiTokenInfo>('apiTokenInfo');
    expect(info.version).toBeGreaterThan(1);
    await expect(developer.workflow.getHandle(workflowId).query('apiToken')).resolves.not.toBe(stale.token);
  });

  it('refuses a plain-text apiToken (a client without the codec) and keeps it out of history', async () => {
    const plain = `tok-plain-${randomUUID()}`;
    for (const app of ['rotator', 'developer'] as const) {
      const raw = await clientOf(app, { codec: false });
      const refusal = await refusalOf(raw.workflow.getHandle(workflowId).signal('apiToken', plain));
      expect(refusal.code).toBe(PERMISSION_DENIED);
      // The caller is told what to fix: the reason (gRPC status details) names the payload codec.
      expect(refusal.details).toContain('TOKENRELAY_CODEC_KEYS');
      expect(refusal.details).not.toContain(plain);
    }
    // A start that hands the first token over in plain text is refused too: no workflow is created.
    // (startParent itself refuses that before sending; this is what an older or foreign client sends.)
    const plainStartId = `authz-plain-start-${randomUUID()}`;
    const raw = await clientOf('developer', { codec: false });
    expect(
      await grpcCodeOf(
        raw.workflow.start('treeNode', {
          taskQueue,
          workflowId: plainStartId,
          args: [{ depth: 0, fanout: 0 }, { apiToken: { token: plain, version: 1 } }],
        }),
      ),
    ).toBe(PERMISSION_DENIED);
    expect(await grpcCodeOf(raw.workflow.getHandle(plainStartId).describe())).not.toBe('ok');

    const events = await rawHistoryEvents(h.rawClient, workflowId);
    expect(findSecret(events, plain)).toEqual([]);
    expect(findSecret(events, firstToken)).toEqual([]);
    // The refusal says what to do about it.
    const refusals = (await auditLines()).filter(
      (l) => l.decision === 'deny' && /TOKENRELAY_CODEC_KEYS/.test(l.reason),
    );
    expect(refusals.map((l) => l.api)).toEqual(
      expect.arrayContaining(['SignalWorkflowExecution', 'StartWorkflowExecution']),
    );
  });

  it('hands tokens down by workflow signal when its worker may not relay them (no token.handoff)', async () => {
    const parentId = `authz-fallback-${randomUUID()}`;
    const children = [`${parentId}.c0`, `${parentId}.c1`];
    const next = `tok-fallback-${randomUUID()}`;
    await startParent(h.client, treeNode, {
      taskQueue,
      workflowId: parentId,
      input: { depth: 1, fanout: 2 },
      apiToken: `tok-fallback-first-${randomUUID()}`,
    });
    try {
      await eventually(
        () =>
          Promise.all(
            children.map((id) => h.client.workflow.getHandle(id).query<ApiTokenInfo>('apiTokenInfo')),
          ),
        (infos) => infos.every((i) => i.version >= 1),
      );
      await rotateApiToken(h.client.workflow.getHandle(parentId), next);
      await eventually(
        () => Promise.all(children.map((id) => h.client.workflow.getHandle(id).query<string>('apiToken'))),
        (held) => held.every((t) => t === next),
      );
      const events = await rawHistoryEvents(h.rawClient, parentId);
      // The worker tried to relay, the server refused its credentials, and the workflow signalled.
      const relays = events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === RELAY_HANDOFF_ACTIVITY,
      );
      expect(relays.length).toBeGreaterThanOrEqual(1);
      const signalled = events
        .filter(
          (e) =>
            e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName ===
            '__tokenrelay_apiTokenHandoff',
        )
        .map((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId);
      expect(new Set(signalled)).toEqual(new Set(children));
      expect(findSecret(events, next)).toEqual([]);
      const denied = (await auditLines()).filter(
        (l) =>
          l.signal === '__tokenrelay_apiTokenHandoff' &&
          l.decision === 'deny' &&
          children.includes(l.workflowId ?? ''),
      );
      expect(denied.length).toBeGreaterThanOrEqual(1);
      expect(denied[0]?.reason).toContain('token.handoff');
    } finally {
      await h.client.workflow
        .getHandle(parentId)
        .terminate('test over')
        .catch(() => {});
    }
  });

  it('writes every token-sensitive decision to the audit log, never a token', async () => {
    const lines = await auditLines();
    const has = (match: Partial<AuditLine>) =>
      lines.some((l) => Object.entries(match).every(([k, v]) => l[k as keyof AuditLine] === v));
    expect(
      has({
        subject: 'rotator',
        api: 'SignalWorkflowExecution',
        signal: 'apiToken',
        decision: 'allow',
        workflowId,
      }),
    ).toBe(true);
    expect(
      has({ subject: 'reader', api: 'QueryWorkflow', query: 'apiToken', decision: 'deny', workflowId }),
    ).toBe(true);
    expect(has({ subject: 'rotator', api: 'QueryWorkflow', query: 'apiToken', decision: 'deny' })).toBe(true);
    expect(has({ subject: 'developer', api: 'QueryWorkflow', query: 'apiToken', decision: 'allow' })).toBe(
      true,
    );
    for (const app of apps) {
      expect({
        app,
        refused: has({ subject: app, signal: '__tokenrelay_apiTokenHandoff', decision: 'deny', workflowId }),
      }).toEqual({ app, refused: true });
    }
    expect(
      lines.some(
        (l) =>
          l.subject === 'developer' &&
          l.signal === '__tokenrelay_apiTokenHandoff' &&
          l.decision === 'allow' &&
          /token\.handoff grant/.test(l.reason),
      ),
    ).toBe(true);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining(['time', 'subject', 'namespace', 'api', 'decision', 'reason']),
      );
    }
    const text = await readFile(auditLogPath, 'utf8');
    expect(text).not.toContain(firstToken);
    expect(text).not.toContain('tok-rotated-');
    expect(text).not.toContain('tok-plain-');
    for (const token of Object.values(tokens)) expect(text).not.toContain(token.slice(-24));
  });
});

describe("the server's own services", () => {
  const internalFrontend = `127.0.0.1:${config.portBase + 36}`;
  const history = `127.0.0.1:${config.portBase + 34}`;

  /**
   * DescribeNamespace on `address` over plain gRPC (no Temporal client in between, so nothing retries
   * or reinterprets): 'ok', or the gRPC code and details of the failure.
   */
  async function call(
    address: string,
    tls: false | { ca: string; cert?: string; key?: string },
  ): Promise<{ code: number | 'ok'; details: string }> {
    const creds =
      tls === false
        ? credentials.createInsecure()
        : credentials.createSsl(
            await readFile(tls.ca),
            tls.key ? await readFile(tls.key) : null,
            tls.cert ? await readFile(tls.cert) : null,
          );
    const client = new GrpcClient(address, creds, { 'grpc.ssl_target_name_override': 'localhost' });
    const namespace = Buffer.from(config.temporal.namespace);
    // DescribeNamespaceRequest { namespace = 1 } in protobuf wire format.
    const request = Buffer.concat([Buffer.from([0x0a, namespace.length]), namespace]);
    try {
      return await new Promise((resolve) => {
        client.makeUnaryRequest(
          '/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace',
          (b: Buffer) => b,
          (b: Buffer) => b,
          request,
          new Metadata(),
          { deadline: Date.now() + 5_000 },
          (err) => resolve(err ? { code: err.code, details: err.details } : { code: 'ok', details: '' }),
        );
      });
    } finally {
      client.close();
    }
  }

  const internodeCa = pki.internode.caCertPath;

  it('internal-frontend refuses plaintext, certificate-less and dev-CA-certificate connections', async () => {
    expect((await call(internalFrontend, false)).code).toBe(UNAVAILABLE);
    expect(await call(internalFrontend, { ca: internodeCa })).toEqual({
      code: UNAVAILABLE,
      details: expect.stringMatching(/certificate required/),
    });
    // Every dev application holds the worker certificate of the dev CA: it must not get in either.
    expect(await call(internalFrontend, { ca: internodeCa, ...pemPair(pki.clients.worker) })).toEqual({
      code: UNAVAILABLE,
      details: expect.stringMatching(/unknown ca/),
    });
    // The server's own internode certificate does (so the refusals above are about the certificate).
    expect((await call(internalFrontend, { ca: internodeCa, ...pemPair(pki.internode) })).code).toBe('ok');
  });

  it('history refuses connections without the internode certificate too', async () => {
    expect((await call(history, false)).code).toBe(UNAVAILABLE);
    expect((await call(history, { ca: internodeCa, ...pemPair(pki.clients.worker) })).code).toBe(UNAVAILABLE);
    // With it, TLS passes and history answers that it does not serve WorkflowService.
    expect((await call(history, { ca: internodeCa, ...pemPair(pki.internode) })).code).toBe(UNIMPLEMENTED);
  });

  it('internal-frontend has no HTTP API port', async () => {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = netConnect(config.portBase + 56, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});

function pemPair(paths: { certPath: string; keyPath: string }): { cert: string; key: string } {
  return { cert: paths.certPath, key: paths.keyPath };
}
