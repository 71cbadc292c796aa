import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { REFERENCE_TASK_QUEUE } from '../reference/names.js';
import { startParent } from '../stateful/client.js';
import { type ConnectionFlags, withConnectionOptions } from './connection-flags.js';
import { openClient } from './connection-options.js';
import { CliError } from './errors.js';
import { readTokenInput, withTokenInput } from './token-input.js';

export function registerWorkflowCommands(program: Command): void {
  const workflow = program.command('workflow').description('start workflows on the secured cluster');
  withTokenInput(
    withConnectionOptions(
      workflow
        .command('start <type>')
        .description('start a workflow (a StatefulWorkflow root with --with-api-token)')
        .option('--input <json>', 'the first workflow argument, as JSON', '{}')
        .option('--workflow-id <id>', 'default: <type>-<random>')
        .option('--task-queue <name>', 'task queue', REFERENCE_TASK_QUEUE)
        .option(
          '--with-api-token',
          'hand the root its first API token, read from --token-file, --token-env or stdin',
        )
        .option(
          '--allow-plaintext-token',
          'with --with-api-token: start even though no encrypting payload codec (TOKENRELAY_CODEC_KEYS) is configured',
        )
        .option('--json', 'print { workflowId, runId } as JSON'),
    ),
  ).action(
    async (
      type: string,
      opts: ConnectionFlags & {
        input: string;
        workflowId?: string;
        taskQueue: string;
        withApiToken?: boolean;
        allowPlaintextToken?: boolean;
        tokenFile?: string;
        tokenEnv?: string;
        json?: boolean;
      },
    ) => {
      let input: unknown;
      try {
        input = JSON.parse(opts.input);
      } catch (cause) {
        throw new CliError('cli.invalid_argument', `--input is not valid JSON: ${(cause as Error).message}`, {
          cause,
        });
      }
      const apiToken = opts.withApiToken ? await readTokenInput(opts) : undefined;
      const { client, close } = await openClient(opts);
      try {
        const handle = await startParent(client, type, {
          taskQueue: opts.taskQueue,
          workflowId: opts.workflowId ?? `${type}-${randomUUID().slice(0, 8)}`,
          input,
          ...(apiToken ? { apiToken, allowPlaintextToken: opts.allowPlaintextToken === true } : {}),
        });
        const started = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(started)}\n`
            : `Started ${type} ${started.workflowId} (run ${started.runId}) on ${opts.taskQueue}\n`,
        );
      } finally {
        await close();
      }
    },
  );
}
