// `tokenrelay rotation …`: API token rotation on a Temporal Schedule, and the dev stack's rotation worker.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { jwtLifetimeMs } from '../auth/jwt-lifetime.js';
import { readDevConfig } from '../devstack/dev-config.js';
import {
  deleteApiTokenRotation,
  describeApiTokenRotation,
  listApiTokenRotations,
  pauseApiTokenRotation,
  type RotationScheduleDescription,
  resumeApiTokenRotation,
  scheduleApiTokenRotation,
  triggerApiTokenRotation,
} from '../stateful/rotation/schedule.js';
import { DEFAULT_ROTATION_TASK_QUEUE } from '../stateful/rotation/types.js';
import { type ConnectionFlags, withConnectionOptions } from './connection-flags.js';
import { openClient } from './connection-options.js';
import { CliError } from './errors.js';

interface CreateFlags extends ConnectionFlags {
  scheduleId: string;
  workflowId?: string[];
  query?: string;
  every?: string;
  cron?: string;
  tokenLifetime?: string;
  revokeAfter?: string;
  confirmTimeout?: string;
  taskQueue: string;
  paused?: boolean;
  now?: boolean;
  json?: boolean;
}

export function registerRotationCommands(program: Command): void {
  const rotation = program
    .command('rotation')
    .description('rotate workflow trees’ API token on a Temporal Schedule, with the built-in rotator');

  rotation
    .command('worker')
    .description(
      'dev stack: run the rotation worker (rotationWorker identity, tokens from apiClient, revocation at the demo API) until interrupted',
    )
    .option('--task-queue <name>', 'task queue to poll', DEFAULT_ROTATION_TASK_QUEUE)
    .action(async (opts: { taskQueue: string }) => {
      const config = await readDevConfig();
      const { startDevRotationWorker } = await import('./rotation-worker.js');
      const worker = await startDevRotationWorker(config, { taskQueue: opts.taskQueue });
      process.stderr.write(
        `Rotation worker polling ${opts.taskQueue} on ${config.temporal.address} as rotationWorker; Ctrl-C to stop\n`,
      );
      await worker.supervised.done;
      await worker.close();
    });

  const schedule = rotation.command('schedule').description('create and manage rotation schedules');

  withConnectionOptions(
    schedule
      .command('create')
      .description(
        'create a Schedule that rotates the targets’ API token (overlap: the next run waits; one missed run caught up)',
      )
      .requiredOption('--schedule-id <id>', 'the schedule’s id')
      .option('--workflow-id <id...>', 'roots of the trees to rotate (repeatable)')
      .option(
        '--query <visibility query>',
        'every running root it matches, e.g. "WorkflowType = \'inventorySync\'"',
      )
      .option('--every <duration>', 'interval (10s, 5m, 1h)')
      .option('--cron <expression>', 'cron expression (UTC) instead of --every')
      .option(
        '--token-lifetime <duration>',
        'the API tokens’ lifetime: the default interval is a third of it (dev stack: read from an apiClient token)',
      )
      .option(
        '--revoke-after <duration>',
        'revoke the previous token this long after every tree confirmed the new one',
      )
      .option('--confirm-timeout <duration>', 'how long a rotation waits for the trees to confirm')
      .option('--task-queue <name>', 'the rotation worker’s task queue', DEFAULT_ROTATION_TASK_QUEUE)
      .option('--paused', 'create it paused')
      .option('--now', 'run the first rotation right away')
      .option('--json', 'print the plan as JSON'),
  ).action(async (opts: CreateFlags) => {
    const tokenLifetime =
      opts.tokenLifetime ?? (opts.every || opts.cron ? undefined : await devApiTokenLifetime());
    await withClient(opts, 'developer', async (client) => {
      const { plan } = await scheduleApiTokenRotation(client, {
        scheduleId: opts.scheduleId,
        targets: {
          ...(opts.workflowId ? { workflowIds: opts.workflowId } : {}),
          ...(opts.query ? { query: opts.query } : {}),
        },
        ...(opts.every ? { every: duration(opts.every, '--every') } : {}),
        ...(opts.cron ? { cron: opts.cron } : {}),
        ...(tokenLifetime !== undefined
          ? { tokenLifetime: duration(tokenLifetime, '--token-lifetime') }
          : {}),
        ...(opts.revokeAfter ? { revokeAfter: duration(opts.revokeAfter, '--revoke-after') } : {}),
        ...(opts.confirmTimeout
          ? { confirmTimeout: duration(opts.confirmTimeout, '--confirm-timeout') }
          : {}),
        taskQueue: opts.taskQueue,
        paused: opts.paused ?? false,
        triggerImmediately: opts.now ?? false,
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(plan)}\n`);
        return;
      }
      process.stdout.write(
        `Created schedule ${plan.scheduleId}: rotates ${targetsText(plan.input.targets)} ` +
          `${plan.everyMs !== null ? `every ${plan.everyMs / 1000} s` : `on cron "${plan.cron}"`}` +
          `${plan.input.revokeAfterMs !== undefined ? `, revoking the previous token ${plan.input.revokeAfterMs / 1000} s after confirmation` : ''}` +
          `; a rotation worker must poll ${plan.taskQueue}${opts.paused ? ' (paused)' : ''}\n`,
      );
    });
  });

  withConnectionOptions(
    schedule.command('list').description('list rotation schedules').option('--json', 'print as JSON'),
  ).action(async (opts: ConnectionFlags & { json?: boolean }) => {
    await withClient(opts, 'reader', async (client) => {
      const all = await listApiTokenRotations(client);
      if (opts.json) return void process.stdout.write(`${JSON.stringify(all)}\n`);
      if (all.length === 0) return void process.stdout.write('no rotation schedules\n');
      for (const s of all) {
        process.stdout.write(
          `${s.scheduleId}  ${s.paused ? 'paused' : 'active'}  every ${s.every ?? '?'}  next ${s.nextRotation ?? '-'}\n`,
        );
      }
    });
  });

  withConnectionOptions(
    schedule
      .command('describe')
      .description(
        'a schedule, its next rotations, and what its recent rotations did per tree (never a token)',
      )
      .requiredOption('--schedule-id <id>', 'the schedule’s id')
      .option('--json', 'print as JSON'),
  ).action(async (opts: ConnectionFlags & { scheduleId: string; json?: boolean }) => {
    await withClient(opts, 'reader', async (client) => {
      const description = await describeApiTokenRotation(client, opts.scheduleId);
      process.stdout.write(opts.json ? `${JSON.stringify(description)}\n` : renderDescription(description));
    });
  });

  const simple: Array<[string, string, (client: Client, id: string) => Promise<void>, string]> = [
    ['pause', 'stop further rotations until resumed', (c, id) => pauseApiTokenRotation(c, id), 'Paused'],
    ['resume', 'resume a paused schedule', (c, id) => resumeApiTokenRotation(c, id), 'Resumed'],
    ['trigger', 'rotate now (after the running rotation, if any)', triggerApiTokenRotation, 'Triggered'],
    ['delete', 'delete the schedule (a running rotation finishes)', deleteApiTokenRotation, 'Deleted'],
  ];
  for (const [name, description, run, done] of simple) {
    withConnectionOptions(
      schedule
        .command(name)
        .description(description)
        .requiredOption('--schedule-id <id>', 'the schedule’s id'),
    ).action(async (opts: ConnectionFlags & { scheduleId: string }) => {
      await withClient(opts, 'developer', async (client) => {
        await run(client, opts.scheduleId);
        process.stdout.write(`${done} schedule ${opts.scheduleId}\n`);
      });
    });
  }
}

async function withClient(
  flags: ConnectionFlags,
  devApp: 'developer' | 'reader',
  fn: (client: Client) => Promise<void>,
): Promise<void> {
  const { client, close } = await openClient(flags, devApp);
  try {
    await fn(client);
  } finally {
    await close();
  }
}

/** On the dev stack: the lifetime of the demo API's tokens, read from one freshly issued. */
async function devApiTokenLifetime(): Promise<string | undefined> {
  const config = await readDevConfig().catch(() => undefined);
  if (!config) return undefined;
  const { devApiTokenSource } = await import('../reference/api-tokens.js');
  const receivedAt = Date.now();
  const { token } = await devApiTokenSource(config).getToken();
  return `${Math.floor(jwtLifetimeMs(token, receivedAt) / 1000)}s`;
}

function duration(value: string, flag: string): string {
  if (!/^\d+(\.\d+)?\s*(ms|s|m|h|d)?$/.test(value.trim())) {
    throw new CliError(
      'cli.invalid_argument',
      `${flag} must be a duration like 10s, 5m or 1h, got "${value.slice(0, 40)}"`,
    );
  }
  return value.trim();
}

function targetsText(targets: { workflowIds?: string[]; query?: string }): string {
  const parts = [];
  if (targets.workflowIds?.length) parts.push(targets.workflowIds.join(', '));
  if (targets.query) parts.push(`every running root matching ${targets.query}`);
  return parts.join(' and ');
}

function renderDescription(d: RotationScheduleDescription): string {
  const lines = [
    `schedule ${d.scheduleId}: ${d.paused ? 'PAUSED' : 'active'}${d.note ? ` (${d.note})` : ''}`,
    `  every:        ${d.everyMs !== null ? `${d.everyMs / 1000} s` : `cron "${d.cron}"`}`,
    `  targets:      ${d.input ? targetsText(d.input.targets) : '?'}`,
    `  task queue:   ${d.taskQueue ?? '?'}`,
    `  revoke:       ${d.input?.revokeAfterMs !== undefined ? `${d.input.revokeAfterMs / 1000} s after confirmation` : 'no'}`,
    `  next:         ${d.nextRotations.slice(0, 3).join(', ') || '-'}`,
    `  rotations:    ${d.rotationsStarted} started, ${d.skippedOverlap} skipped (overlap), ${d.missedCatchupWindow} missed`,
    '  recent rotations:',
  ];
  for (const run of d.runs) {
    let outcome = run.status.toLowerCase();
    if (run.result) {
      const trees = run.result.trees.map(
        (t) => `${t.workflowId} ${t.outcome.replace('_', ' ')} (${t.holding}/${t.nodes})`,
      );
      outcome += `: ${trees.join(', ') || 'no trees'}; revocation ${run.result.revocation.outcome.replaceAll('_', ' ')}`;
    }
    if (run.failure) outcome += `: ${run.failure}`;
    for (const r of run.retrying ?? [])
      outcome += `; ${r.activity} attempt ${r.attempt} failed: ${r.lastFailure ?? '?'}`;
    lines.push(`    ${run.startedAt}  ${run.workflowId}  ${outcome}`);
  }
  lines.push(
    d.problems.length
      ? `  PROBLEMS:\n${d.problems.map((p) => `    ${p}`).join('\n')}`
      : '  problems:     none',
  );
  return `${lines.join('\n')}\n`;
}
