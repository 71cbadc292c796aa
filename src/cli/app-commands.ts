import { type Command, InvalidArgumentError } from 'commander';
import { defaultIssuerStateDir } from '../devstack/layout.js';
import { TokenRelayError } from '../errors.js';
import {
  type AccessKeyView,
  type ApplicationUpdate,
  type ApplicationView,
  createAccessKey,
  createApplication,
  deleteAccessKey,
  deleteApplication,
  getApplication,
  listApplications,
  pauseAccessKey,
  resumeAccessKey,
  revokeAccessKey,
  updateApplication,
} from '../issuer/application-admin.js';
import { type IssuerState, openIssuerState } from '../issuer/issuer-state.js';
import { parsePositiveInt } from './option-parsers.js';

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
  'issuer.key_not_revoked': 4,
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

const durationUnits: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `--expires-in`: `90d`, `12h`, `30m`, `2w`, `3600s` or plain seconds → seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhdw]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (durationUnits[match[2] || 's'] as number) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new InvalidArgumentError(
      `expected a duration such as 90d, 12h, 30m or 3600 (seconds), got "${value.slice(0, 40)}"`,
    );
  }
  return seconds;
}

const reasonOption = [
  '--reason <text>',
  'why: recorded in the audit log with the OS user who ran this',
] as const;

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
      .option('--description <text>', 'free text for operators')
      .option('--expires-in <duration>', 'the first key is refused after this (90d, 12h, 30m)', parseDuration)
      .option(...reasonOption),
  ).action(
    (
      appId: string,
      opts: StateOptions & {
        permission: string[];
        tokenLifetime?: number;
        audience?: string;
        description?: string;
        expiresIn?: number;
        reason?: string;
      },
    ) =>
      runAdminAction(opts, async (state) => {
        const { application, key } = await createApplication(
          state.applications,
          {
            id: appId,
            permissions: opts.permission,
            ...(opts.tokenLifetime ? { tokenLifetimeSeconds: opts.tokenLifetime } : {}),
            ...(opts.audience ? { audience: opts.audience } : {}),
            ...(opts.description ? { description: opts.description } : {}),
            ...(opts.expiresIn ? { keyExpiresInSeconds: opts.expiresIn } : {}),
          },
          reasonOf(opts),
        );
        process.stderr.write(secretWarning);
        print(
          opts,
          {
            application,
            keyId: key.keyId,
            keySecret: key.secret,
            ...(key.expiresAt ? { keyExpiresAt: key.expiresAt } : {}),
          },
          () =>
            `Created application ${application.id} (${application.permissions.join(', ')})\n` +
            `key id:     ${key.keyId}\nkey secret: ${key.secret}\n` +
            (key.expiresAt ? `expires:    ${key.expiresAt}\n` : ''),
        );
      }),
  );

  withStateOptions(
    app
      .command('update <appId>')
      .description(
        'change permissions, token lifetime, audience or description (validated like create; issued tokens keep theirs until they expire)',
      )
      .option(
        '-p, --permission <namespace:grant...>',
        'the new permission list (replaces the old one), repeatable',
      )
      .option('--token-lifetime <seconds>', 'lifetime of its tokens', parsePositiveInt)
      .option('--default-token-lifetime', "use the issuer's default token lifetime again")
      .option('--audience <aud>', 'aud of its tokens')
      .option('--default-audience', "use the issuer's audience again")
      .option('--description <text>', 'free text for operators')
      .option(...reasonOption),
  ).action(
    (
      appId: string,
      opts: StateOptions & {
        permission?: string[];
        tokenLifetime?: number;
        defaultTokenLifetime?: boolean;
        audience?: string;
        defaultAudience?: boolean;
        description?: string;
        reason?: string;
      },
    ) =>
      runAdminAction(opts, async (state) => {
        if (
          (opts.tokenLifetime !== undefined && opts.defaultTokenLifetime) ||
          (opts.audience !== undefined && opts.defaultAudience)
        ) {
          throw new TokenRelayError(
            'issuer.invalid_argument',
            'give a value or ask for the default, not both (--token-lifetime/--default-token-lifetime, --audience/--default-audience)',
          );
        }
        const update: ApplicationUpdate = {
          ...(opts.permission ? { permissions: opts.permission } : {}),
          ...(opts.tokenLifetime !== undefined ? { tokenLifetimeSeconds: opts.tokenLifetime } : {}),
          ...(opts.defaultTokenLifetime ? { tokenLifetimeSeconds: null } : {}),
          ...(opts.audience !== undefined ? { audience: opts.audience } : {}),
          ...(opts.defaultAudience ? { audience: null } : {}),
          ...(opts.description !== undefined ? { description: opts.description } : {}),
        };
        const application = await updateApplication(state.applications, appId, update, reasonOf(opts));
        print(opts, application, () => `Updated application ${application.id}\n${describeApp(application)}`);
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
      .description('delete an application and all its keys (issued tokens live on until they expire)')
      .option(...reasonOption),
  ).action((appId: string, opts: StateOptions & { reason?: string }) =>
    runAdminAction(opts, async (state) => {
      await deleteApplication(state.applications, appId, reasonOf(opts));
      print(opts, { deleted: appId }, () => `Deleted application ${appId}\n`);
    }),
  );

  const key = app.command('key').description('access keys of an application');
  withStateOptions(
    key
      .command('create <appId>')
      .description('add an access key to an application (prints the secret once)')
      .option('--description <text>', 'free text: who holds the key, where it is deployed')
      .option('--expires-in <duration>', 'the key is refused after this (90d, 12h, 30m)', parseDuration)
      .option(...reasonOption),
  ).action(
    (appId: string, opts: StateOptions & { description?: string; expiresIn?: number; reason?: string }) =>
      runAdminAction(opts, async (state) => {
        const created = await createAccessKey(state.applications, appId, {
          ...(opts.description ? { description: opts.description } : {}),
          ...(opts.expiresIn ? { expiresInSeconds: opts.expiresIn } : {}),
          ...reasonOf(opts),
        });
        process.stderr.write(secretWarning);
        print(
          opts,
          {
            appId,
            keyId: created.keyId,
            keySecret: created.secret,
            ...(created.expiresAt ? { expiresAt: created.expiresAt } : {}),
          },
          () =>
            `key id:     ${created.keyId}\nkey secret: ${created.secret}\n` +
            (created.expiresAt ? `expires:    ${created.expiresAt}\n` : ''),
        );
      }),
  );

  const statusCommands = [
    ['pause', 'refuse the key at once until it is resumed', pauseAccessKey],
    ['resume', 'accept a paused key again', resumeAccessKey],
    ['revoke', 'refuse the key for good', revokeAccessKey],
  ] as const;
  for (const [name, description, change] of statusCommands) {
    withStateOptions(
      key
        .command(`${name} <keyId>`)
        .description(description)
        .option(...reasonOption),
    ).action((keyId: string, opts: StateOptions & { reason?: string }) =>
      runAdminAction(opts, async (state) => {
        const updated: AccessKeyView = await change(state.applications, keyId, reasonOf(opts));
        print(opts, updated, () => `Key ${updated.id} is now ${updated.status}\n`);
      }),
    );
  }

  withStateOptions(
    key
      .command('delete <keyId>')
      .description('remove a revoked key from its application (the audit log keeps its history)')
      .option(...reasonOption),
  ).action((keyId: string, opts: StateOptions & { reason?: string }) =>
    runAdminAction(opts, async (state) => {
      const deleted = await deleteAccessKey(state.applications, keyId, reasonOf(opts));
      print(opts, { deleted: deleted.id }, () => `Deleted key ${deleted.id}\n`);
    }),
  );
}

export function reasonOf(opts: { reason?: string }): { reason?: string } {
  return opts.reason !== undefined ? { reason: opts.reason } : {};
}

function activeKeys(app: ApplicationView): string {
  const active = app.keys.filter((k) => k.status === 'active' && !k.expired).length;
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
    ...app.keys.map((k) =>
      [
        `    ${k.id}  ${k.expired && k.status === 'active' ? 'expired' : k.status}  created ${k.createdAt}`,
        k.expiresAt ? `  ${k.expired ? 'expired' : 'expires'} ${k.expiresAt}` : '  no expiry',
        k.statusReason ? `  (${k.status}: ${k.statusReason})` : '',
        k.description ? `  ${k.description}` : '',
      ].join(''),
    ),
  ];
  return `${lines.join('\n')}\n`;
}
