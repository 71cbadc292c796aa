import type { Command } from 'commander';
import { TokenRelayError } from '../errors.js';
import {
  type AccessKeyView,
  type ApplicationView,
  createAccessKey,
  createApplication,
  deleteApplication,
  getApplication,
  listApplications,
  pauseAccessKey,
  resumeAccessKey,
  revokeAccessKey,
} from '../issuer/application-admin.js';
import { defaultIssuerStateDir } from '../devstack/layout.js';
import { type IssuerState, openIssuerState } from '../issuer/issuer-state.js';
import { parsePositiveInt } from './dev-commands.js';

/**
 * Exit codes of the operator commands, so scripts can tell "nothing to do" from "broken":
 * 0 done, 1 unexpected failure, 2 invalid arguments, 3 not found, 4 conflicts with the current state
 * (exists already, key revoked), 5 the state is locked by another process.
 */
export const adminExitCodes: Record<string, number> = {
  'issuer.invalid_argument': 2,
  'issuer.app_not_found': 3,
  'issuer.key_not_found': 3,
  'issuer.app_exists': 4,
  'issuer.key_revoked': 4,
  'issuer.lock_timeout': 5,
};

interface StateOptions {
  stateDir?: string;
  json?: boolean;
}

/** Adds `--state-dir` and `--json` to an operator command. */
export function withStateOptions(command: Command): Command {
  return command
    .option(
      '--state-dir <dir>',
      'issuer state directory (issuer.json, applications.json, signing-keys.json); default $TOKENRELAY_ISSUER_STATE_DIR or .tokenrelay/issuer',
    )
    .option('--json', 'print the result as JSON on stdout');
}

/**
 * Runs an operator action on the opened state directory; a refused operation prints
 * `error [code]: message` on stderr and sets the exit code from {@link adminExitCodes}.
 */
export async function runAdminAction(
  options: StateOptions,
  action: (state: IssuerState) => Promise<void>,
): Promise<void> {
  let state: IssuerState | undefined;
  try {
    state = await openIssuerState(options.stateDir ?? defaultIssuerStateDir());
    await action(state);
  } catch (err) {
    if (!(err instanceof TokenRelayError)) throw err;
    process.stderr.write(`error [${err.code}]: ${err.message}\n`);
    process.exitCode = adminExitCodes[err.code] ?? 1;
  } finally {
    await state?.audit.flush().catch(() => {});
  }
}

/** Prints `data` as JSON, or `human()` as text. */
export function print(options: StateOptions, data: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(data, null, 2)}\n` : human());
}

const secretWarning =
  'The key secret is shown only now and cannot be recovered; store it in your secret manager.\n';

export function registerAppCommands(program: Command): void {
  const app = program
    .command('app')
    .description('applications (token subjects with Temporal permissions) and their access keys');

  withStateOptions(
    app
      .command('create <appId>')
      .description('create an application with one access key (prints the key secret once)')
      .requiredOption(
        '-p, --permission <namespace:role...>',
        'Temporal permission, repeatable: default:write, default:read, temporal-system:admin',
      )
      .option(
        '--token-lifetime <seconds>',
        'lifetime of its tokens (default: the issuer default)',
        parsePositiveInt,
      )
      .option('--audience <aud>', "tokens for another API than Temporal: their aud (default: the issuer's)")
      .option('--description <text>', 'free text for operators'),
  ).action(
    (
      appId: string,
      opts: StateOptions & {
        permission: string[];
        tokenLifetime?: number;
        audience?: string;
        description?: string;
      },
    ) =>
      runAdminAction(opts, async (state) => {
        const { application, key } = await createApplication(state.applications, {
          id: appId,
          permissions: opts.permission,
          ...(opts.tokenLifetime ? { tokenLifetimeSeconds: opts.tokenLifetime } : {}),
          ...(opts.audience ? { audience: opts.audience } : {}),
          ...(opts.description ? { description: opts.description } : {}),
        });
        process.stderr.write(secretWarning);
        print(
          opts,
          { application, keyId: key.keyId, keySecret: key.secret },
          () =>
            `Created application ${application.id} (${application.permissions.join(', ')})\n` +
            `key id:     ${key.keyId}\nkey secret: ${key.secret}\n`,
        );
      }),
  );

  withStateOptions(app.command('list').description('list applications')).action((opts: StateOptions) =>
    runAdminAction(opts, async (state) => {
      const apps = await listApplications(state.applications);
      print(opts, apps, () =>
        apps.length === 0
          ? 'No applications\n'
          : apps.map((a) => `${a.id}  ${a.permissions.join(',')}  ${activeKeys(a)}\n`).join(''),
      );
    }),
  );

  withStateOptions(app.command('show <appId>').description('show an application and its keys')).action(
    (appId: string, opts: StateOptions) =>
      runAdminAction(opts, async (state) => {
        const application = await getApplication(state.applications, appId);
        print(opts, application, () => describeApp(application));
      }),
  );

  withStateOptions(
    app
      .command('delete <appId>')
      .description('delete an application and all its keys (issued tokens live on until they expire)'),
  ).action((appId: string, opts: StateOptions) =>
    runAdminAction(opts, async (state) => {
      await deleteApplication(state.applications, appId);
      print(opts, { deleted: appId }, () => `Deleted application ${appId}\n`);
    }),
  );

  const key = app.command('key').description('access keys of an application');
  withStateOptions(
    key
      .command('create <appId>')
      .description('add an access key to an application (prints the secret once)')
      .option('--description <text>', 'free text: who holds the key, where it is deployed'),
  ).action((appId: string, opts: StateOptions & { description?: string }) =>
    runAdminAction(opts, async (state) => {
      const created = await createAccessKey(
        state.applications,
        appId,
        opts.description ? { description: opts.description } : {},
      );
      process.stderr.write(secretWarning);
      print(
        opts,
        { appId, keyId: created.keyId, keySecret: created.secret },
        () => `key id:     ${created.keyId}\nkey secret: ${created.secret}\n`,
      );
    }),
  );

  const statusCommands = [
    ['pause', 'refuse the key at once until it is resumed', pauseAccessKey],
    ['resume', 'accept a paused key again', resumeAccessKey],
    ['revoke', 'refuse the key for good', revokeAccessKey],
  ] as const;
  for (const [name, description, change] of statusCommands) {
    withStateOptions(key.command(`${name} <keyId>`).description(description)).action(
      (keyId: string, opts: StateOptions) =>
        runAdminAction(opts, async (state) => {
          const updated: AccessKeyView = await change(state.applications, keyId);
          print(opts, updated, () => `Key ${updated.id} is now ${updated.status}\n`);
        }),
    );
  }
}

function activeKeys(app: ApplicationView): string {
  const active = app.keys.filter((k) => k.status === 'active').length;
  return `${active}/${app.keys.length} keys active`;
}

function describeApp(app: ApplicationView): string {
  const lines = [
    `application ${app.id}`,
    `  permissions: ${app.permissions.join(', ')}`,
    ...(app.tokenLifetimeSeconds ? [`  token lifetime: ${app.tokenLifetimeSeconds}s`] : []),
    ...(app.audience ? [`  audience: ${app.audience}`] : []),
    ...(app.description ? [`  description: ${app.description}`] : []),
    '  keys:',
    ...app.keys.map(
      (k) => `    ${k.id}  ${k.status}  created ${k.createdAt}${k.description ? `  ${k.description}` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
