import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ServiceError } from '@temporalio/client';
import { ValueError, WorkflowNotFoundError } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { EXIT_STATUS, EXIT_STATUS_BY_CODE, exitCodeFor, toCliError } from '../../../src/cli/errors.js';
import { TokenRelayError } from '../../../src/errors.js';
import { packageRoot } from '../../../src/package-root.js';

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    ),
  );
  return nested.flat();
}

/** Every code the sources declare: members of `…ErrorCode` unions, and OAuth codes as `issuer.<code>`. */
async function declaredCodes(): Promise<string[]> {
  const codes = new Set<string>();
  for (const file of await sourceFiles(join(packageRoot(), 'src'))) {
    const text = await readFile(file, 'utf8');
    for (const [, name, union] of text.matchAll(/export type (\w*ErrorCode) =([\s\S]*?);/g)) {
      for (const [, code] of (union as string).matchAll(/'([a-z_]+(?:\.[a-z_]+)?)'/g)) {
        codes.add(name === 'OAuthErrorCode' ? `issuer.${code}` : (code as string));
      }
    }
    for (const [, code] of text.matchAll(/super\('([a-z_]+\.[a-z_]+)'/g)) codes.add(code as string);
  }
  return [...codes].sort();
}

describe('the exit-code table', () => {
  it('maps every error code declared in the sources', async () => {
    const codes = await declaredCodes();
    expect(codes.length).toBeGreaterThan(60);
    expect(codes.filter((code) => !(code in EXIT_STATUS_BY_CODE))).toEqual([]);
  });

  it('uses only the documented statuses, and keeps the ones scripts rely on', () => {
    const statuses = new Set(Object.values(EXIT_STATUS));
    for (const status of Object.values(EXIT_STATUS_BY_CODE)) expect(statuses.has(status as never)).toBe(true);
    expect(exitCodeFor('cli.invalid_argument')).toBe(2);
    expect(exitCodeFor('cli.token_input_invalid')).toBe(2);
    expect(exitCodeFor('cli.workflow_not_found')).toBe(3);
    expect(exitCodeFor('issuer.app_exists')).toBe(4);
    expect(exitCodeFor('issuer.lock_timeout')).toBe(5);
    expect(exitCodeFor('cli.token_invalid')).toBe(6);
    expect(exitCodeFor('auth.token_endpoint_unreachable')).toBe(1);
    expect(exitCodeFor('some.future_code')).toBe(1);
  });
});

describe('toCliError', () => {
  const grpcError = (code: number, details: string) =>
    Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });

  it('passes tokenrelay errors through', () => {
    const err = new TokenRelayError('devstack.not_running', 'no dev stack');
    expect(toCliError(err)).toBe(err);
  });

  it.each([
    [
      'a query no worker answered',
      new ServiceError('Failed to query Workflow', {
        cause: grpcError(GrpcStatus.DEADLINE_EXCEEDED, 'context deadline exceeded'),
      }),
      'cli.timeout',
      /no worker is polling/,
    ],
    [
      'a query the server refused because no worker polled lately',
      new ServiceError('Failed to query Workflow', {
        cause: grpcError(
          GrpcStatus.FAILED_PRECONDITION,
          'no poller seen for task queue recently, worker may be down',
        ),
      }),
      'cli.no_worker',
      /no worker is polling.*tokenrelay worker/,
    ],
    [
      'another refusal in the current state',
      new ServiceError('Failed to signal Workflow', {
        cause: grpcError(GrpcStatus.FAILED_PRECONDITION, 'workflow is closing'),
      }),
      'cli.failed_precondition',
      /refused in the current state/,
    ],
    [
      'a workflow without the query',
      Object.assign(new Error('Workflow did not register a handler for apiTokenInfo'), {
        name: 'QueryNotRegisteredError',
        code: GrpcStatus.INVALID_ARGUMENT,
      }),
      'cli.not_stateful_workflow',
      /not a StatefulWorkflow.*apiTokenInfo/,
    ],
    [
      'an encrypted answer without a codec',
      new ValueError('Unknown encoding: binary/encrypted'),
      'cli.codec_missing',
      /TOKENRELAY_CODEC_KEYS/,
    ],
    [
      'a refused token',
      new ServiceError('Failed to start', {
        cause: grpcError(GrpcStatus.PERMISSION_DENIED, 'Request unauthorized.'),
      }),
      'cli.permission_denied',
      /PermissionDenied.*--dev-app/,
    ],
    [
      'an unreachable server',
      grpcError(GrpcStatus.UNAVAILABLE, 'No connection established'),
      'cli.unavailable',
      /not reachable/,
    ],
    [
      'a missing workflow',
      new WorkflowNotFoundError('not found', 'wf-1', undefined),
      'cli.workflow_not_found',
      /no workflow wf-1/,
    ],
    ['anything else', new RangeError('boom\n    at somewhere (file.ts:1:1)'), 'cli.unexpected', /^boom at/],
  ])('%s', (_label, err, code, message) => {
    const mapped = toCliError(err);
    expect(mapped.code).toBe(code);
    expect(mapped.message).toMatch(message);
    expect(mapped.message).not.toContain('\n');
    expect(mapped.cause).toBe(err);
  });

  it('keeps the code of an error from a second copy of tokenrelay', () => {
    const foreign = Object.assign(new Error('no dev stack'), {
      name: 'DevStackError',
      code: 'devstack.not_running',
    });
    expect(toCliError(foreign).code).toBe('devstack.not_running');
  });
});
