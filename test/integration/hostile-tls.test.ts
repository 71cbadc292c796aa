// mTLS refusals: each way a connection can fail the handshake is refused by the server, and the SDK's
// TemporalConnectError names that way, for both connection kinds (worker: Rust core; client: grpc-js).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { devLayout, devTls, devToken } from '../../src/dev.js';
import {
  createCertificateAuthority,
  devPkiPaths,
  issueLeaf,
  loadCertificateAuthority,
} from '../../src/devstack/pki.js';
import {
  connectClient,
  connectWorker,
  type RefreshingToken,
  TemporalConnectError,
  type TlsOptions,
} from '../../src/index.js';
import { diagnoseTlsHandshake, type TlsFailureReason } from '../../src/temporal/tls-diagnosis.js';
import { persistRegistryUnder, printTable, recordTokensOf } from '../faults/helpers.js';
import { describeSecretsScan } from '../faults/secrets-scan-suite.js';
import { callCode, devConfig } from '../support/stack.js';

const config = devConfig();
const root = inject('devRoot');
const DAY_MS = 86_400_000;

interface TlsCase {
  name: string;
  tls: () => TlsOptions;
  /** What the error message must say for a person to know which of the cases this is. */
  says: RegExp;
  /** What the handshake probe (test/faults/tls-diagnosis.ts, the proposed connectError fix) finds. */
  probe: TlsFailureReason;
  /**
   * Connection kinds whose TemporalConnectError cannot tell this case from the others; their "says
   * which" test is `it.fails`. None today: connectError probes the handshake (F-TLS, fixed).
   * Asserted on the SDK's own hint, not the transport's text in parentheses after it: whether the Rust
   * core reports the server's alert ("received fatal alert: UnknownCA") or only "broken pipe" is a race.
   */
  undiagnosed: Array<'connectWorker' | 'connectClient'>;
}

interface Outcome {
  error: unknown;
  message: string;
}

let dir: string;
let token: RefreshingToken;
const outcomes = new Map<string, Outcome>();
const probes = new Map<string, { reason: TlsFailureReason; detail: string }>();

beforeAll(async () => {
  persistRegistryUnder(root);
  token = devToken(config, 'developer');
  recordTokensOf(token, 'hostile-tls worker token');
  await token.get();
  dir = await mkdtemp(join(tmpdir(), 'tokenrelay-hostile-tls-'));
  const foreign = await createCertificateAuthority({ commonName: 'someone else CA', validityDays: 1 });
  await issueLeaf(
    foreign,
    { certPath: join(dir, 'foreign.pem'), keyPath: join(dir, 'foreign-key.pem') },
    { commonName: 'tokenrelay-worker', usage: 'client', validityDays: 1 },
  );
  const devCa = await loadCertificateAuthority(devPkiPaths(devLayout(root).pkiDir));
  const now = Date.now();
  await issueLeaf(
    devCa,
    { certPath: join(dir, 'expired.pem'), keyPath: join(dir, 'expired-key.pem') },
    {
      commonName: 'tokenrelay-worker',
      usage: 'client',
      validityDays: 1,
      notBefore: new Date(now - 2 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    },
  );
  // All at once: a grpc-js client gives up only at its 10 s connect deadline.
  const address = config.temporal.address;
  await Promise.all(
    cases.flatMap((c) => [
      attempt(`${c.name}/connectWorker`, () => connectWorker({ address, tls: c.tls(), token })),
      attempt(`${c.name}/connectClient`, () => connectClient({ address, tls: c.tls(), token })),
      probeOf(c).then((result) => void probes.set(c.name, result)),
    ]),
  );
}, 60_000);

afterAll(async () => {
  token?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  const rows = cases.flatMap((c) => [
    [c.name, 'connectWorker', outcomes.get(`${c.name}/connectWorker`)?.message ?? '-'],
    [c.name, 'connectClient', outcomes.get(`${c.name}/connectClient`)?.message ?? '-'],
    [c.name, 'handshake probe', `${probes.get(c.name)?.reason} (${probes.get(c.name)?.detail.slice(0, 90)})`],
  ]);
  printTable('TLS refusals (case × connection → message)', ['case', 'via', 'message'], rows);
});

/** The SDK's diagnosis: the message without the transport's own text, which connectError appends. */
function hintOf(error: unknown): string {
  const detail = ((error as Error).cause as Error | undefined)?.message ?? '';
  return (error as Error).message.replace(` (${detail})`, '');
}

async function attempt(key: string, connect: () => Promise<{ close(): Promise<void> }>): Promise<void> {
  try {
    const connection = await connect();
    await connection.close();
    outcomes.set(key, { error: undefined, message: 'CONNECTED' });
  } catch (error) {
    outcomes.set(key, { error, message: (error as Error).message });
  }
}

async function probeOf(c: TlsCase) {
  const tls = c.tls();
  const read = (path: string | undefined) => (path ? readFile(path) : Promise.resolve(undefined));
  const [ca, cert, key] = await Promise.all([
    read(tls.caCertPath),
    read(tls.clientCertPath),
    read(tls.clientKeyPath),
  ]);
  return diagnoseTlsHandshake(config.temporal.address, {
    ...(tls.serverName ? { serverName: tls.serverName } : {}),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
  });
}

const cases: TlsCase[] = [
  {
    name: 'no client certificate',
    tls: () => {
      const { clientCertPath, clientKeyPath, ...rest } = devTls(config);
      return rest;
    },
    says: /no client certificate was configured/,
    probe: 'client_certificate_required',
    undiagnosed: [],
  },
  {
    name: 'client certificate from another CA',
    tls: () => ({
      ...devTls(config),
      clientCertPath: join(dir, 'foreign.pem'),
      clientKeyPath: join(dir, 'foreign-key.pem'),
    }),
    says: /unknown ?ca|not signed by a CA the server trusts/i,
    probe: 'client_certificate_unknown_ca',
    undiagnosed: [],
  },
  {
    name: 'expired client certificate',
    tls: () => ({
      ...devTls(config),
      clientCertPath: join(dir, 'expired.pem'),
      clientKeyPath: join(dir, 'expired-key.pem'),
    }),
    says: /certificate ?expired|client certificate has expired/i,
    probe: 'client_certificate_expired',
    undiagnosed: [],
  },
  {
    name: 'server name mismatch',
    tls: () => ({ ...devTls(config), serverName: 'not-the-server.example' }),
    says: /not ?valid ?for ?name|does not match the server certificate/i,
    probe: 'server_name_mismatch',
    // The worker's transport detail names it (NotValidForName), but the hint does not; grpc-js has neither.
    undiagnosed: [],
  },
];

describe('an mTLS handshake the server must refuse', () => {
  for (const c of cases) {
    for (const via of ['connectWorker', 'connectClient'] as const) {
      const outcome = () => outcomes.get(`${c.name}/${via}`) as Outcome;

      it(`${c.name}: ${via} is refused with temporal.connect_failed`, () => {
        expect(outcome().error).toBeInstanceOf(TemporalConnectError);
        expect(outcome().error).toMatchObject({ code: 'temporal.connect_failed' });
      });

      const saysWhich = c.undiagnosed.includes(via) ? it.fails : it;
      saysWhich(`${c.name}: the ${via} error says which`, () => {
        expect(hintOf(outcome().error)).toMatch(c.says);
      });
    }

    it(`${c.name}: a handshake probe with the same material names the cause (${c.probe})`, () => {
      expect(probes.get(c.name)?.reason).toBe(c.probe);
    });
  }

  it('leaves the server serving a correctly configured connection', async () => {
    const valid = await token.get();
    await expect(
      callCode(config, { token: valid }, (c) =>
        c.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
      ),
    ).resolves.toBe('ok');
    const tls = devTls(config);
    const probe = await diagnoseTlsHandshake(config.temporal.address, {
      serverName: tls.serverName as string,
      ca: await readFile(tls.caCertPath as string),
      cert: await readFile(tls.clientCertPath as string),
      key: await readFile(tls.clientKeyPath as string),
    });
    expect(probe.reason).toBe('accepted');
  });
});

describeSecretsScan(config, root);
