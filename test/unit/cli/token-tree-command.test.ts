import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/cli/errors.js';
import { parseWait, renderTree } from '../../../src/cli/token-tree-command.js';
import type { ApiTokenTree, ApiTokenTreeNode } from '../../../src/stateful/tree.js';

function node(over: Partial<ApiTokenTreeNode>): ApiTokenTreeNode {
  return {
    workflowId: 'root',
    workflowType: 'treeNode',
    depth: 0,
    parentWorkflowId: null,
    version: 7,
    fingerprint: 'a1b2c3d4e5f6',
    updatedAt: '2026-01-01T00:00:00.000Z',
    status: 'current',
    excluded: false,
    skipped: false,
    sentVersion: null,
    confirmedVersion: null,
    confirmed: null,
    unreachable: null,
    ...over,
  };
}

describe('token tree output', () => {
  it('draws one indented line per workflow with its flags, then a summary', () => {
    const tree: ApiTokenTree = {
      rootWorkflowId: 'root',
      nodes: [
        node({}),
        node({ workflowId: 'root.c0', depth: 1, parentWorkflowId: 'root', confirmed: true }),
        node({ workflowId: 'root.c1', depth: 1, version: 6, status: 'lagging', confirmed: false }),
        node({
          workflowId: 'root.c2',
          depth: 1,
          version: 0,
          fingerprint: null,
          updatedAt: null,
          excluded: true,
        }),
        node({
          workflowId: 'root.c2.c0',
          depth: 2,
          version: null,
          status: 'unreachable',
          excluded: true,
          unreachable: { reason: 'no_response', message: 'no answer in time' },
        }),
      ],
      counts: { total: 5, current: 3, lagging: 1, unreachable: 1, excluded: 2, skipped: 0 },
      settled: false,
    };
    const lines = renderTree(tree).trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(
      /^root {6,}treeNode {2}v7 {2}a1b2c3d4e5f6 {2}2026-01-01T00:00:00.000Z {2}current$/,
    );
    expect(lines[1]).toMatch(/^ {2}root\.c0 .* current, confirmed$/);
    expect(lines[2]).toMatch(/^ {2}root\.c1 .* v6 .* lagging, unconfirmed$/);
    expect(lines[3]).toMatch(/^ {2}root\.c2 .* v0 +- +- +current, excluded$/);
    expect(lines[4]).toMatch(/^ {4}root\.c2\.c0 .* v\? .* unreachable \(no_response\), excluded$/);
    expect(lines[5]).toBe(
      '5 workflows: 3 current, 1 lagging, 1 unreachable; 2 excluded, 0 skipped; NOT settled',
    );
  });

  it('reads --wait as a duration, seconds by default', () => {
    expect(parseWait('30s')).toBe(30_000);
    expect(parseWait('500ms')).toBe(500);
    expect(parseWait('2m')).toBe(120_000);
    expect(parseWait('5')).toBe(5_000);
    expect(parseWait('1.5s')).toBe(1_500);
    expect(() => parseWait('soon')).toThrow(/--wait must be a duration/);
    expect(() => parseWait('-1s')).toThrow(/--wait/);
  });
});

describe('exit codes of the token guards and the tree', () => {
  it('gives each refusal a code scripts can tell apart', () => {
    expect(exitCodeFor('cli.tree_not_settled')).toBe(7);
    expect(exitCodeFor('cli.not_root')).toBe(4);
    expect(exitCodeFor('apitoken.not_root')).toBe(4);
    expect(exitCodeFor('apitoken.expired')).toBe(6);
    expect(exitCodeFor('apitoken.plaintext_refused')).toBe(2);
    expect(exitCodeFor('tree.invalid_option')).toBe(2);
    expect(exitCodeFor('tree.workflow_not_found')).toBe(3);
    expect(exitCodeFor('tree.too_large')).toBe(1);
    // Unchanged.
    expect(exitCodeFor('cli.token_invalid')).toBe(6);
    expect(exitCodeFor('cli.workflow_not_found')).toBe(3);
  });
});
