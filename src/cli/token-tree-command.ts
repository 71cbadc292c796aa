// `tokenrelay token tree`: where a rotation got to, one line per workflow of a StatefulWorkflow tree.
import type { Command } from 'commander';
import {
  type ApiTokenTree,
  type ApiTokenTreeNode,
  getApiTokenTree,
  waitForApiTokenTree,
} from '../stateful/tree.js';
import { type ConnectionFlags, withConnectionOptions } from './connection-flags.js';
import { CliError } from './errors.js';
import type { WithWorkflowClient } from './token-commands.js';

interface TreeFlags extends ConnectionFlags {
  workflowId: string;
  wait?: string;
  json?: boolean;
  concurrency: string;
}

export function registerTokenTreeCommand(token: Command, withWorkflowClient: WithWorkflowClient): void {
  withConnectionOptions(
    token
      .command('tree')
      .description(
        'show every workflow of a StatefulWorkflow tree with its token version, fingerprint and whether it ' +
          'lags its parent (never a token); exit 7 when an opted-in workflow lags or does not answer',
      )
      .requiredOption('--workflow-id <id>', 'the root of the tree')
      .option('--wait <duration>', 'poll until no opted-in workflow lags, up to this long (30s, 500ms, 2m)')
      .option('--concurrency <n>', 'apiTokenInfo queries in flight at once', '8')
      .option('--json', 'print { settled, waitedMs, rootWorkflowId, counts, nodes } as JSON'),
  ).action(async (opts: TreeFlags) => {
    const waitMs = opts.wait === undefined ? undefined : parseWait(opts.wait);
    const concurrency = Number(opts.concurrency);
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new CliError(
        'cli.invalid_argument',
        `--concurrency must be a positive integer, got "${opts.concurrency}"`,
      );
    }
    await withWorkflowClient(opts, 'reader', async (client) => {
      const started = Date.now();
      const tree =
        waitMs === undefined
          ? await getApiTokenTree(client, opts.workflowId, { concurrency })
          : (await waitForApiTokenTree(client, opts.workflowId, { timeout: waitMs, concurrency })).tree;
      const waitedMs = Date.now() - started;
      process.stdout.write(opts.json ? `${JSON.stringify({ waitedMs, ...tree })}\n` : renderTree(tree));
      if (!tree.settled) {
        const c = tree.counts;
        throw new CliError(
          'cli.tree_not_settled',
          `${opts.workflowId}'s tree has not settled${waitMs === undefined ? '' : ` after waiting ${opts.wait}`}: ` +
            `${c.lagging} lagging, ${unsettledUnreachable(tree)} not answering (${notSettled(tree)})`,
        );
      }
    });
  });
}

/** `30s`, `500ms`, `2m`, or a number of seconds. */
export function parseWait(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) {
    throw new CliError(
      'cli.invalid_argument',
      `--wait must be a duration such as 30s, 500ms or 2m, got "${text}"`,
    );
  }
  const unit = match[2] ?? 's';
  return Math.round(Number(match[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1_000 : 60_000));
}

/** The tree, indented by depth, one line per workflow, then a summary line. */
export function renderTree(tree: ApiTokenTree): string {
  const ids = tree.nodes.map((n) => `${'  '.repeat(n.depth)}${n.workflowId}`);
  const idWidth = Math.max(...ids.map((id) => id.length));
  const typeWidth = Math.max(...tree.nodes.map((n) => (n.workflowType ?? '-').length));
  const versionWidth = Math.max(...tree.nodes.map((n) => versionText(n).length));
  const lines = tree.nodes.map((n, i) =>
    [
      ids[i]!.padEnd(idWidth),
      (n.workflowType ?? '-').padEnd(typeWidth),
      versionText(n).padEnd(versionWidth),
      (n.fingerprint ?? '-').padEnd(12),
      (n.updatedAt ?? '-').padEnd(24),
      flags(n),
    ].join('  '),
  );
  const c = tree.counts;
  lines.push(
    `${c.total} ${c.total === 1 ? 'workflow' : 'workflows'}: ${c.current} current, ${c.lagging} lagging, ${c.unreachable} unreachable; ` +
      `${c.excluded} excluded, ${c.skipped} skipped; ${tree.settled ? 'settled' : 'NOT settled'}`,
  );
  return `${lines.join('\n')}\n`;
}

function versionText(n: ApiTokenTreeNode): string {
  return n.version === null ? 'v?' : `v${n.version}`;
}

function flags(n: ApiTokenTreeNode): string {
  const out: string[] = [
    n.status === 'unreachable' ? `unreachable (${n.unreachable?.reason ?? 'query_failed'})` : n.status,
  ];
  if (n.confirmed !== null) out.push(n.confirmed ? 'confirmed' : 'unconfirmed');
  if (n.excluded) out.push('excluded');
  if (n.skipped) out.push('skipped');
  return out.join(', ');
}

/** The workflows that keep the tree from settling, for the error message (at most five named). */
function notSettled(tree: ApiTokenTree): string {
  const ids = tree.nodes
    .filter((n) => !n.excluded && !n.skipped && n.status !== 'current')
    .map(
      (n) =>
        `${n.workflowId} ${n.status === 'unreachable' ? `unreachable: ${n.unreachable?.reason}` : 'lagging'}`,
    );
  return ids.length > 5 ? `${ids.slice(0, 5).join('; ')}; and ${ids.length - 5} more` : ids.join('; ');
}

function unsettledUnreachable(tree: ApiTokenTree): number {
  return tree.nodes.filter((n) => !n.excluded && !n.skipped && n.status === 'unreachable').length;
}
