// Shared by the fault and hostile-input suites (test/integration/faults-*.test.ts, hostile-*.test.ts)
// and the soak (test/faults/soak.ts). Free of vitest, so the soak can use it as a plain script. Forged
// tokens are in test/support/forged-tokens.ts, waits in test/support/wait.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@temporalio/client';
import type { RefreshingToken } from '../../src/auth/refreshing-token.js';
import { devLayout } from '../../src/devstack/layout.js';
import { createApplication } from '../../src/issuer/application-admin.js';

// ---------------------------------------------------------------------------------------------------
// The secret registry: every token and secret a suite issued, so the final scan can look for each one.
// Each vitest file runs in its own process, so the registry is also appended to a file under the test
// stack's root (mode 0600) and the scan reads the union of every file's secrets.

const secrets = new Map<string, string>();
const workflowIds = new Set<string>();
let registryFile: string | undefined;

/** Where this process appends what it records; call once with the test stack's root. */
export function persistRegistryUnder(root: string): void {
  registryFile = join(root, 'faults-registry.jsonl');
}

/** Remembers `value` (a token, a client secret) under `label` for the secrets scan. */
export function recordSecret(label: string, value: string): void {
  if (!value || secrets.has(value)) return;
  secrets.set(value, label);
  persist({ secret: value, label });
}

/** Records every token `token` fetches from now on. */
export function recordTokensOf(token: RefreshingToken, label: string): void {
  const current = token.current();
  if (current) recordSecret(label, current);
  token.on('refreshed', (event) => recordSecret(label, event.token));
}

/** Saves output of a CLI or child process under `<root>/faults-captured/` for the secrets scan. */
export async function saveCapturedOutput(root: string, name: string, text: string): Promise<void> {
  const dir = join(root, 'faults-captured');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, `${name}.log`), text, { mode: 0o600 });
}

/** Remembers a workflow whose raw history the scan must search. */
export function recordWorkflow(workflowId: string): void {
  if (workflowIds.has(workflowId)) return;
  workflowIds.add(workflowId);
  persist({ workflowId });
}

function persist(entry: object): void {
  if (!registryFile) return;
  // Synchronous enough: appends from one process keep their order, and the scan runs after awaiting.
  pendingWrites = pendingWrites.then(() =>
    appendFile(registryFile as string, `${JSON.stringify(entry)}\n`, { mode: 0o600 }),
  );
}
let pendingWrites: Promise<void> = Promise.resolve();

/** Every secret and workflow id recorded by any process that persisted under `root`, plus this one's. */
export async function loadRegistry(
  root?: string,
): Promise<{ secrets: Map<string, string>; workflowIds: Set<string> }> {
  await pendingWrites;
  const all = new Map(secrets);
  const ids = new Set(workflowIds);
  const file = root ? join(root, 'faults-registry.jsonl') : registryFile;
  const text = file ? await readFile(file, 'utf8').catch(() => '') : '';
  for (const line of text.split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { secret?: string; label?: string; workflowId?: string };
    if (entry.secret) all.set(entry.secret, entry.label ?? 'secret');
    if (entry.workflowId) ids.add(entry.workflowId);
  }
  return { secrets: all, workflowIds: ids };
}

// ---------------------------------------------------------------------------------------------------
// The secrets scan.

export interface SecretHit {
  /** File, captured output or `history:<workflowId>`. */
  where: string;
  /** The label the secret was recorded under; never the secret itself. */
  label: string;
}

/** Text sources of a test stack the scan always reads: its logs and the issuer's audit log. */
export function stackLogFiles(root: string): string[] {
  const layout = devLayout(root);
  return [layout.issuerLogPath, layout.temporalLogPath, join(layout.issuerDir, 'audit.log')];
}

/**
 * Searches every file in `files`, every captured text, and the raw history (fetched without the codec)
 * of every workflow in `workflowIds` for every secret, as text and as base64. Returns where each hit
 * was, naming the secret by its label only.
 */
export async function scanForSecrets(options: {
  secrets: Map<string, string>;
  files?: string[];
  captured?: Record<string, string>;
  rawClient?: Client;
  workflowIds?: Iterable<string>;
}): Promise<{ hits: SecretHit[]; scannedBytes: number; histories: number }> {
  const hits: SecretHit[] = [];
  let scannedBytes = 0;
  const search = (where: string, haystack: Buffer) => {
    scannedBytes += haystack.length;
    for (const [secret, label] of options.secrets) {
      if (needlesOf(secret).some((n) => haystack.includes(n))) hits.push({ where, label });
    }
  };
  for (const file of options.files ?? []) {
    const content = await readFile(file).catch(() => undefined);
    if (content) search(file, content);
  }
  for (const [name, text] of Object.entries(options.captured ?? {})) search(name, Buffer.from(text));
  let histories = 0;
  if (options.rawClient) {
    for (const workflowId of options.workflowIds ?? []) {
      const events = await rawHistory(options.rawClient, workflowId).catch(() => undefined);
      if (!events) continue;
      histories += 1;
      search(`history:${workflowId}`, Buffer.from(bytesOf(events)));
    }
  }
  return { hits, scannedBytes, histories };
}

function needlesOf(secret: string): Buffer[] {
  return [Buffer.from(secret), Buffer.from(Buffer.from(secret).toString('base64'))];
}

async function rawHistory(rawClient: Client, workflowId: string): Promise<unknown[]> {
  const events: unknown[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await rawClient.workflowService.getWorkflowExecutionHistory({
      namespace: rawClient.options.namespace,
      execution: { workflowId },
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

/** Every string and byte array in `value`, concatenated, so payload bytes are searched wherever they sit. */
function bytesOf(value: unknown): Uint8Array {
  const parts: Buffer[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown) => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') parts.push(Buffer.from(v));
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    else if (typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      for (const child of Object.values(v)) walk(child);
    }
    parts.push(Buffer.from([0]));
  };
  walk(value);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------
// Output.

/** A fixed-width table on stderr, so it shows in the test output whatever the reporter. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  process.stderr.write(`\n${title}\n${line(header)}\n${rule}\n${rows.map(line).join('\n')}\n\n`);
}

// ---------------------------------------------------------------------------------------------------
// A separate issuer process: hostile requests trip its rate limiter and slow clients hold its sockets,
// so they must not hit the shared test stack's issuer.

export interface SeparateIssuer {
  url: string;
  dir: string;
  /** A working credential of an application on it. */
  credentials: { clientId: string; clientSecret: string };
  /** Everything the `tokenrelay issuer start` process printed (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `tokenrelay issuer start` on `port` with its own state in `dir` and one application created
 * through the library (the CLI would print its secret, and the scan reads CLI output).
 */
export async function startSeparateIssuer(options: {
  dir: string;
  port: number;
  rateLimit?: { maxFailures: number; windowSeconds: number };
}): Promise<SeparateIssuer> {
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  await writeFile(
    join(options.dir, 'issuer.json'),
    JSON.stringify({
      issuer: `http://127.0.0.1:${options.port}`,
      audience: 'hostile-test',
      port: options.port,
      rateLimit: options.rateLimit ?? { maxFailures: 100_000, windowSeconds: 60 },
    }),
    { mode: 0o600 },
  );
  const { key } = await createApplication(
    { applicationsPath: join(options.dir, 'applications.json') },
    { id: 'hostile-probe', permissions: ['default:read'] },
  );
  recordSecret('separate issuer app secret', key.secret);
  const bin = resolve('bin/tokenrelay.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, 'issuer', 'start', '--config', join(options.dir, 'issuer.json')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.once('exit', (code) => reject(new Error(`issuer exited with ${code}: ${output}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output += `${line}\n`;
      const event = JSON.parse(line) as { event: string; url?: string };
      if (event.event === 'issuer_listening') resolveUrl(event.url as string);
    });
  });
  return {
    url,
    dir: options.dir,
    credentials: { clientId: key.keyId, clientSecret: key.secret },
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Seconds with one decimal, for reports. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
