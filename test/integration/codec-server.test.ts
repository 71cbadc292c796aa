import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENCRYPTED_ENCODING } from '../../src/codec/aes-gcm-codec.js';
import { formatPayloadsJson, parsePayloadsJson } from '../../src/codec/payloads-json.js';
import { ensureTemporalCli } from '../../src/devstack/temporal-install.js';
import {
  type ApiTokenInfo,
  getApiTokenInfo,
  rotateApiToken,
  startParent,
  WITHHELD_METADATA,
} from '../../src/index.js';
import { packageRoot } from '../../src/package-root.js';
import { apiTokenFingerprint } from '../../src/workflow.js';
import { devConfig, issueToken } from '../support/stack.js';
import {
  eventually,
  findSecret,
  rawHistoryEvents,
  type StatefulHarness,
  statefulHarness,
} from './fixtures/stateful/harness.js';
import { finishSignal, treeNode } from './fixtures/stateful/workflows.js';

const config = devConfig();
const run = promisify(execFile);

/**
 * The official `temporal` CLI: `npm run test:integration` builds it once per machine from the Go
 * module proxy (ensureTemporalCli, in the cache outside the project) and passes its path on; run
 * alone, this file builds or finds it itself. TOKENRELAY_TEMPORAL_CLI points at another binary.
 */
let temporalCli: string;

interface CodecServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
}

/** `tokenrelay codec-server` as a user starts it: the dev stack's dev.json, the harness's codec keys. */
async function startCodecServerProcess(codecKeys: string): Promise<CodecServerProcess> {
  const child = spawn(
    process.execPath,
    [
      join(packageRoot(), 'bin', 'tokenrelay.js'),
      'codec-server',
      '--port',
      '0',
      '--cors-origin',
      'http://localhost:8233',
    ],
    {
      cwd: packageRoot(),
      env: { ...process.env, TOKENRELAY_HOME: inject('devRoot'), TOKENRELAY_CODEC_KEYS: codecKeys },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /"event":"codec_server_listening","url":"([^"]+)"/.exec(output);
      if (listening?.[1]) resolve(listening[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`codec-server exited early with ${code}: ${output}`)));
  });
  return { url, child, output: () => output };
}

const toPayloads = (
  list:
    | ReadonlyArray<{ metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }>
    | null
    | undefined,
): Payload[] =>
  (list ?? []).map((p) => ({ metadata: { ...(p.metadata ?? {}) }, data: p.data ?? new Uint8Array() }));
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');
const value = (payload: Payload | undefined) => defaultPayloadConverter.fromPayload(payload!);

describe('the codec server on the secured stack', () => {
  const taskQueue = `codec-server-${randomUUID()}`;
  const workflowId = `codec-server-${randomUUID()}`;
  const firstToken = `sk_first_${randomUUID()}`;
  const rotatedToken = `sk_rotated_${randomUUID()}`;
  const cliToken = `sk_cli_${randomUUID()}`;
  const input = { depth: 0, fanout: 0 };
  let h: StatefulHarness;
  let worker: Worker;
  let running: Promise<void>;
  let codecServer: CodecServerProcess;
  const jwt = {} as Record<'reader' | 'developer' | 'rotator' | 'outsider' | 'apiClient', string>;
  const responses: string[] = [];

  async function decode(token: string | undefined, payloads: Payload[], namespace = 'default') {
    const response = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-namespace': namespace,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: formatPayloadsJson(payloads),
    });
    const body = await response.text();
    responses.push(body);
    return { status: response.status, body, payloads: () => parsePayloadsJson(body) };
  }

  async function rawQuery(queryType: string): Promise<Payload[]> {
    const response = await h.rawClient.workflowService.queryWorkflow({
      namespace: h.namespace,
      execution: { workflowId },
      query: { queryType },
    });
    return toPayloads(response.queryResult?.payloads);
  }

  beforeAll(async () => {
    h = await statefulHarness(config);
    worker = await h.createWorker(taskQueue);
    running = worker.run();
    codecServer = await startCodecServerProcess(h.codecKeysEnv);
    for (const app of ['reader', 'developer', 'rotator', 'outsider', 'apiClient'] as const) {
      jwt[app] = await issueToken(config, app);
    }
    const handle = await startParent(h.client, treeNode, {
      taskQueue,
      workflowId,
      input,
      apiToken: firstToken,
    });
    await rotateApiToken(handle, rotatedToken);
    await eventually(
      () => getApiTokenInfo(handle),
      (info) => info.fingerprint === apiTokenFingerprint(rotatedToken),
    );
  });

  afterAll(async () => {
    await h?.client.workflow
      .getHandle(workflowId)
      .signal(finishSignal)
      .catch(() => {});
    worker?.shutdown();
    await running;
    codecServer?.child.kill('SIGTERM');
    await h?.close();
    // The codec server logged every request, and never a JWT or an API token.
    const log = codecServer?.output() ?? '';
    expect(log).toContain('"event":"codec_request"');
    for (const secret of [...Object.values(jwt), firstToken, rotatedToken, cliToken]) {
      expect(log).not.toContain(secret);
    }
  });

  it('decodes a real apiTokenInfo query result for a plain reader, exactly as a codec-enabled client sees it', async () => {
    const sealed = await rawQuery('apiTokenInfo');
    expect(sealed.map((p) => text(p.metadata?.encoding))).toEqual([ENCRYPTED_ENCODING]);
    const answer = await decode(jwt.reader, sealed);
    expect(answer.status, answer.body).toBe(200);
    const info = value(answer.payloads()[0]) as ApiTokenInfo;
    expect(info.fingerprint).toBe(apiTokenFingerprint(rotatedToken));
    expect(info).toEqual(await getApiTokenInfo(h.client, workflowId));
  });

  it("shows a reader the workflow's input from history but keeps the start handoff and the apiToken signal encrypted", async () => {
    const events = await rawHistoryEvents(h.rawClient, workflowId);
    const started = toPayloads(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads);
    const signal = events.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'apiToken');
    const signalled = toPayloads(signal?.workflowExecutionSignaledEventAttributes?.input?.payloads);
    expect(started).toHaveLength(2);
    expect(signalled).toHaveLength(1);
    const sealed = [...started, ...signalled];
    expect(sealed.every((p) => text(p.metadata?.encoding) === ENCRYPTED_ENCODING)).toBe(true);

    const answer = await decode(jwt.reader, sealed);
    expect(answer.status, answer.body).toBe(200);
    const [inputPayload, handoff, rotation] = answer.payloads();
    expect(value(inputPayload)).toEqual(input);
    for (const [withheld, original] of [
      [handoff, sealed[1]],
      [rotation, sealed[2]],
    ] as const) {
      expect(text(withheld?.metadata?.[WITHHELD_METADATA])).toBe('token.read');
      expect(text(withheld?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(Buffer.from(withheld!.data!)).toEqual(Buffer.from(original!.data!));
    }
    for (const token of [firstToken, rotatedToken]) expect(findSecret(answer.body, token)).toEqual([]);
  });

  it('decrypts the token-bearing history payloads and the apiToken query answer for the developer (token.read)', async () => {
    const events = await rawHistoryEvents(h.rawClient, workflowId);
    const started = toPayloads(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads);
    const answer = await decode(jwt.developer, started);
    expect(answer.status, answer.body).toBe(200);
    expect(answer.payloads().map(value)).toEqual([input, { apiToken: { token: firstToken, version: 1 } }]);
    const raw = await decode(jwt.developer, await rawQuery('apiToken'));
    expect(value(raw.payloads()[0])).toBe(rotatedToken);
  });

  it('withholds the apiToken query answer from a rotator: token.rotate is not token.read', async () => {
    const answer = await decode(jwt.rotator, await rawQuery('apiToken'));
    expect(answer.status, answer.body).toBe(200);
    expect(text(answer.payloads()[0]?.metadata?.[WITHHELD_METADATA])).toBe('token.read');
    expect(findSecret(answer.body, rotatedToken)).toEqual([]);
  });

  it("refuses no token, a token for another audience (the demo API's) and an outsider", async () => {
    const sealed = await rawQuery('apiTokenInfo');
    const anonymous = await decode(undefined, sealed);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ reason: 'missing_token' });
    const otherAudience = await decode(jwt.apiClient, sealed);
    expect(otherAudience.status).toBe(401);
    expect(JSON.parse(otherAudience.body)).toMatchObject({ reason: 'token.wrong_audience' });
    expect(otherAudience.body).not.toContain(jwt.apiClient);
    expect((await decode(jwt.outsider, sealed)).status).toBe(403);
    expect((await decode(jwt.reader, sealed, 'elsewhere')).status).toBe(403);
  });

  describe('with the official temporal CLI', () => {
    /** mTLS flags of the dev stack; the JWTs go in through the environment, never argv. */
    function temporal(args: string[], token: string) {
      const t = config.temporal;
      return run(
        temporalCli,
        [
          ...args,
          '--address',
          t.address,
          '--namespace',
          t.namespace,
          '--tls-cert-path',
          t.clientCertPath,
          '--tls-key-path',
          t.clientKeyPath,
          '--tls-ca-path',
          t.caCertPath,
          '--tls-server-name',
          t.serverName,
          '--codec-endpoint',
          codecServer.url,
        ],
        {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            TEMPORAL_API_KEY: token,
            TEMPORAL_CODEC_AUTH: `Bearer ${token}`,
          },
          timeout: 60_000,
        },
      );
    }

    beforeAll(async () => {
      temporalCli = await ensureTemporalCli();
    }, 600_000);

    it('temporal workflow query --name apiTokenInfo --codec-endpoint prints the decoded info to a plain reader', async () => {
      const { stdout } = await temporal(
        ['workflow', 'query', '--workflow-id', workflowId, '--name', 'apiTokenInfo', '--output', 'json'],
        jwt.reader,
      );
      const printed = JSON.parse(stdout) as { queryResult: ApiTokenInfo[] };
      // The CLI's JSON printer turns an empty list into null; everything else is as the SDK decodes it.
      const info = printed.queryResult[0]!;
      expect({ ...info, childList: info.childList ?? [] }).toEqual(
        await getApiTokenInfo(h.client, workflowId),
      );
    });

    it('temporal workflow show --codec-endpoint shows a reader the input and keeps the token handoff encrypted; the developer sees both', async () => {
      // `workflow show --output json` prints each event's payloads in Temporal's JSON form.
      const startInput = async (token: string) => {
        const { stdout } = await temporal(
          ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json'],
          token,
        );
        for (const secret of token === jwt.reader ? [firstToken, rotatedToken] : []) {
          expect(findSecret(stdout, secret)).toEqual([]);
        }
        const { events } = JSON.parse(stdout) as {
          events: Array<{ workflowExecutionStartedEventAttributes?: { input: unknown } }>;
        };
        const started = events[0]?.workflowExecutionStartedEventAttributes?.input;
        return parsePayloadsJson(JSON.stringify(started));
      };
      const [readerInput, readerHandoff] = await startInput(jwt.reader);
      expect(value(readerInput)).toEqual(input);
      expect(text(readerHandoff?.metadata?.[WITHHELD_METADATA])).toBe('token.read');
      expect(text(readerHandoff?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      const developerView = await startInput(jwt.developer);
      expect(developerView.map(value)).toEqual([input, { apiToken: { token: firstToken, version: 1 } }]);
    });

    it('temporal workflow signal --name apiToken --codec-endpoint rotates the token as the rotator, encrypted by the codec server', async () => {
      const before = await getApiTokenInfo(h.client, workflowId);
      await temporal(
        [
          'workflow',
          'signal',
          '--workflow-id',
          workflowId,
          '--name',
          'apiToken',
          '--input',
          JSON.stringify(cliToken),
        ],
        // Least privilege: read + token.rotate covers both the codec server's /encode and the signal.
        jwt.rotator,
      );
      const after = await eventually(
        () => getApiTokenInfo(h.client, workflowId),
        (info) => info.fingerprint === apiTokenFingerprint(cliToken),
      );
      expect(after.version).toBeGreaterThan(before.version);
      // The CLI sent the token through the codec server: history holds ciphertext only.
      expect(findSecret(await rawHistoryEvents(h.rawClient, workflowId), cliToken)).toEqual([]);
    });
  });
});
